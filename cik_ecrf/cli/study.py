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


# ---------------------------------------------------------------------------------- on a laptop

LAPTOP_COMMANDS = frozenset({"upgrade", "versions"})


def add_laptop_study_commands(sub: Any, common: Any) -> None:
    upgrade = sub.add_parser(
        "upgrade",
        parents=[common],
        help="move a form to the newest version of its form (after an amendment), with a reason",
    )
    upgrade.add_argument("subject")
    upgrade.add_argument("visit")
    upgrade.add_argument("form")
    upgrade.add_argument("--instance", help="which one, for a repeating form")
    upgrade.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    sub.add_parser(
        "versions", parents=[common], help="the study versions on this laptop, and the forms on an older version"
    )


def run_laptop_study_command(args: argparse.Namespace) -> int:
    from ..store.errors import StoreError, ValidationFailed
    from .common import Usage, bounded, open_store

    try:
        opened, _ = open_store(args)
        with opened as store:
            if args.command == "versions":
                for v in store.study_versions.versions:
                    note = f"  {v.note}" if v.note else ""
                    print(f"study version {v.number}  {v.sha256[:16] or '(shipped)'}{note}")
                for number, visit, form, instance, version, newest in store.amendments.behind():
                    print(f"{number} {visit} {form} ({instance}): version {version}, newest {newest}")
                return 0
            instance = store.amendments.find_instance(args.subject, args.visit, args.form, args.instance)
            done = store.amendments.upgrade(instance, args.reason)
    except ValidationFailed as exc:
        for line in exc.lines:
            print(bounded(line), file=sys.stderr)
        print("not upgraded", file=sys.stderr)
        return 1
    except (StoreError, Usage) as exc:
        print(f"error: {bounded(exc)}", file=sys.stderr)
        return 1
    print(f"{args.form} at {args.visit} moved from version {done.from_version} to {done.to_version}")
    if done.changed:
        print(f"values moved by the mapping: {', '.join(done.changed)}")
    if done.dropped:
        print(f"fields no longer on the form (kept in the audit trail): {', '.join(done.dropped)}")
    if done.missing_required:
        print(f"to fill in at the next save (required on the new version): {', '.join(done.missing_required)}")
    return 0
