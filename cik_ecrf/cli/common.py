"""What every verb group shares: the data directory, passwords, opening the store as a user, and the
user-mistake exception that the verbs turn into one line on stderr and exit 1."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(os.environ.get("CIK_ECRF_DATA_DIR") or user_data_dir("cik-ecrf", appauthor=False))


def read_password(variable: str, prompt: str, confirm: bool = False) -> str:
    value = os.environ.get(variable)
    if value:
        return value
    if not sys.stdin.isatty():
        raise Usage(f"no password: set {variable} or run in a terminal to be asked")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Again: ") != first:
        raise Usage("the two passwords differ")
    return first


class Usage(Exception):
    pass


#: the longest message line printed: a refusal names the problem, it never echoes a 5 MB value back
MAX_LINE = 400


def bounded(text: object, limit: int = MAX_LINE) -> str:
    """One line of at most `limit` characters (plus a note of what was cut), safe for any terminal."""
    line = " ".join(str(text).split("\n"))
    line = line.encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate cannot reach stderr
    if len(line) <= limit:
        return line
    return f"{line[:limit]}… ({len(line) - limit} more characters)"


def open_store(args: argparse.Namespace, report: bool = True):
    """Log in as --user; `report` prints what the login found (`audit verify` reports it its own way)."""
    from ..store.api import Store

    if not args.user:
        raise Usage("--user is required")
    password = read_password("CIK_ECRF_PASSWORD", f"Password for {args.user}: ")
    directory = args.data_dir or default_data_dir()
    store = Store.open(directory, args.user, password)
    if report:
        report_login(directory, store)
    return store, password


def report_login(directory: Path, store: object) -> None:
    """What the login found (a rolled-back or damaged store, an edited lockout state) and a read-only
    store's reason, as warnings on stderr: the verb still runs, reading is still allowed."""
    from ..store.database import read_only
    from ..store.integrity import reported

    for finding in reported(directory):
        print(f"warning: {bounded(finding)}", file=sys.stderr)
    if read_only(store.engine):  # type: ignore[attr-defined]
        print(f"warning: {directory}: opened read-only; changes are refused", file=sys.stderr)
