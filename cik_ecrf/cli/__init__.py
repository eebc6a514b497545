"""The `cik-ecrf` command: the desktop client's launcher and the headless verbs.

User mistakes (a bad definition, a malformed values file) end as clear lines on stderr and exit 1;
a traceback means a bug.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..selftest import version_text  # installer (issue 7): light, stdlib only
from .export import add_export_commands, run_export_command  # data out: odm, csv, endpoints
from .monitoring import COMMANDS as MONITORING_COMMANDS  # monitoring
from .monitoring import add_monitoring_commands, run_monitoring_command
from .pdf import add_pdf_commands, run_pdf_command  # ---- signatures and PDFs (issue 6)
from .randomization import LAPTOP_COMMANDS, add_randomization_commands, run_randomization_command
from .report import add_report_commands, run_report_command
from .server import add_server_commands, run_server_command
from .store import add_store_commands, run_store_command
from .study import LAPTOP_COMMANDS as STUDY_COMMANDS  # study versions
from .study import add_laptop_study_commands, run_laptop_study_command
from .sync import add_sync_commands, run_sync_command  # central server and sync (issue 5)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cik-ecrf", description="Electronic case report forms for trial NCT06389305.")
    parser.add_argument(
        "--version", action="version", version=version_text()
    )  # a bundle adds its build stamp (issue 7)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        dest="client_data_dir",
        help="with no command: the store the client opens (default: the user data directory)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="with no command: open the client on a throw-away store with example subjects",
    )
    parser.add_argument(
        "--language",
        choices=["en", "zh"],
        default=None,
        help="with no command: the client's language (default: the laptop's setting, else English)",
    )
    # --- installer (issue 7): an installed bundle checks itself ---
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation in a temporary directory (forms, encrypted store and migrations, a form drawn offscreen, a PDF) and exit 0, or 1 naming the failed step",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    forms = sub.add_parser("forms", help="work with the form definitions")
    forms_sub = forms.add_subparsers(dest="forms_command", metavar="ACTION", required=True)
    check = forms_sub.add_parser("check", help="load and check every definition; exit 1 listing every error")
    check.add_argument("directory", nargs="?", type=Path, help="definitions directory (default: the shipped forms)")
    common = add_store_commands(sub)
    add_pdf_commands(sub, common)  # ---- signatures and PDFs (issue 6)
    add_report_commands(sub, common)
    add_export_commands(sub, common)  # data out: odm, csv, endpoints
    add_sync_commands(sub, common)  # ---- central server and sync (issue 5)
    add_randomization_commands(sub, common)  # randomize, unblind, codebreak (online)
    add_server_commands(sub)
    add_laptop_study_commands(sub, common)  # study versions: upgrade, versions
    add_monitoring_commands(sub, common)  # monitoring: conflicts, resolve, query, sdv, lock, unlock
    elig = sub.add_parser(
        "eligibility", parents=[common], help="evaluate the eligibility criteria of crf-spec section 4"
    )
    elig.add_argument("subject", nargs="?", help="a stored subject (or give --values)")
    elig.add_argument(
        "--values",
        type=Path,
        metavar="FILE.json",
        help='screening forms as {"form_id": {"FIELD": value}}; - reads stdin',
    )
    elig.add_argument("--json", action="store_true", help="print the result as JSON")
    elig.add_argument("--forms", type=Path, help="definitions directory (default: the shipped forms)")
    return parser


def _forms_check(directory: Path | None) -> int:
    from ..definitions.errors import DefinitionErrors
    from ..definitions.loader import default_forms_dir, load_study

    started = time.perf_counter()
    try:
        study = load_study(directory)
        from ..definitions.randomization import read_design  # randomization: study.json's design, checked too

        read_design(study)
    except DefinitionErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{len(exc.errors)} error(s) in {directory or default_forms_dir()}", file=sys.stderr)
        return 1
    elapsed = (time.perf_counter() - started) * 1000
    print(
        f"OK: {len(study.forms)} forms, {study.field_count()} fields, {study.rule_count()} rules, "
        f"{len(study.study.visits)} visits, {len(study.study.codelists)} code lists ({elapsed:.0f} ms)"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.self_test:  # installer (issue 7)
        from ..selftest import main as self_test

        return self_test()
    if args.command == "forms":
        return _forms_check(args.directory)
    if args.command in MONITORING_COMMANDS:  # monitoring
        return run_monitoring_command(args)
    if args.command == "eligibility" and args.values is not None:
        from .eligibility import run_eligibility

        return run_eligibility(args.values, args.json, args.forms)
    if args.command == "eligibility" and args.subject is None:
        parser.error("eligibility needs a SUBJECT or --values FILE.json")
    if args.command in ("enrol", "sync"):  # ---- central server and sync (issue 5)
        return run_sync_command(args)
    if args.command == "server":
        return run_server_command(args)
    if args.command in STUDY_COMMANDS:  # study versions
        return run_laptop_study_command(args)
    if args.command in LAPTOP_COMMANDS:  # randomization
        return run_randomization_command(args)
    if args.command in ("sign", "pdf"):  # ---- signatures and PDFs (issue 6)
        return run_pdf_command(args)
    if args.command == "export":  # data out: odm, csv, endpoints
        return run_export_command(args)
    if args.command == "report":
        return run_report_command(args)
    if args.command is not None:
        return run_store_command(args)
    from ..ui.launch import run_client
    from .common import default_data_dir

    return run_client(args.client_data_dir or default_data_dir(), args.language, args.demo)
