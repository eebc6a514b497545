"""The `report` verb: the study dashboard printed to a PDF (the same numbers the client shows)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from .common import Usage, bounded, open_store


def add_report_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    report = sub.add_parser(
        "report",
        parents=[common],
        help="print the study dashboard (enrolment, screen failures, visits due and overdue, forms) to a PDF",
    )
    report.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.pdf", help="where to write the PDF")
    report.add_argument("--language", choices=["en", "zh"], default="en", help="the page's language (default: en)")
    report.add_argument(
        "--today", type=dt.date.fromisoformat, default=None, metavar="YYYY-MM-DD", help=argparse.SUPPRESS
    )


def run_report_command(args: argparse.Namespace) -> int:
    from ..store.errors import StoreError

    try:
        store, _password = open_store(args)
    except (Usage, StoreError) as exc:
        print(bounded(exc), file=sys.stderr)
        return 1
    try:
        from ..pdf.dashboard import render
        from ..reporting.dashboard import dashboard

        data = dashboard(store, args.today)
        pdf = render(data, store.study, args.language)
    except StoreError as exc:
        print(bounded(exc), file=sys.stderr)
        return 1
    finally:
        store.close()
    try:
        args.output.write_bytes(pdf)
    except OSError as exc:
        print(f"{args.output}: cannot write the report ({exc.strerror or exc})", file=sys.stderr)
        return 1
    enrolment = data.enrolment
    print(
        f"{args.output}: dashboard of {enrolment.registered} subjects as of {data.today} "
        f"({enrolment.enrolled} of {enrolment.target} enrolled, {data.visits.overdue} visits overdue)"
    )
    return 0
