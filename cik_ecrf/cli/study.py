"""`cik-ecrf server study publish DIR [--note TEXT] [--mapping FILE]` and `cik-ecrf server study list`.

A data manager publishes a protocol amendment: a new definitions directory (every form file and
study.json), checked like `cik-ecrf forms check`, with a mapping that says how existing instances'
values move to it. Laptops take the new version at their next sync.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_study_commands(actions: Any, database_option: Callable[..., None]) -> None:
    study = actions.add_parser("study", help="published study versions (protocol amendments)").add_subparsers(
        dest="study_command", metavar="ACTION", required=True
    )
    publish = study.add_parser(
        "publish", help="check a new set of definitions and publish it as the next study version"
    )
    publish.add_argument("directory", type=Path, help="the definitions directory (study.json and the form files)")
    publish.add_argument("--note", default="", help="what the amendment changes (shown by `study list`)")
    publish.add_argument("--mapping", type=Path, help="JSON: per form, renamed and removed fields, recoded values")
    database_option(publish, suppress=True)
    database_option(study.add_parser("list", help="list the published study versions"), suppress=True)


def run_study_command(engine: Any, args: argparse.Namespace) -> int:
    from ..definitions.errors import DefinitionErrors
    from ..server.study_versions.store import list_versions, publish

    if args.study_command == "list":
        for line in list_versions(engine):
            print(line)
        return 0
    if len(args.note) > 2000:
        print("error: --note: at most 2000 characters", file=sys.stderr)
        return 1
    if args.mapping is not None and not args.mapping.is_file():
        print(f"error: --mapping {args.mapping}: no such file", file=sys.stderr)
        return 1
    try:
        published = publish(engine, args.directory, args.note, args.mapping)
    except DefinitionErrors as exc:
        for error in exc.errors:
            print(f"error: {error}", file=sys.stderr)
        print(f"not published: {len(exc.errors)} problem(s)", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {args.directory}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    forms = ", ".join(published.forms) or "none"
    print(f"published study version {published.number} (SHA-256 {published.sha256}); forms with a new version: {forms}")
    print("laptops take it at their next sync")
    return 0
