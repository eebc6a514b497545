"""The `sign` and `pdf` verbs: sign CRFs, print them (or the blank set), verify a printout.

Signing proves the password again (CIK_ECRF_PASSWORD or the prompt, as for every verb: on the
command line each invocation is its own session, so the user id and the password are both given).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..pdf import record_pdf, verify_record
from .common import Usage, open_store

MEANING_CODES = ("author", "review", "approve")


def add_pdf_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    sign = sub.add_parser(
        "sign", parents=[common], help="sign a form, a visit or a casebook (investigators; re-enter your password)"
    )
    sign.add_argument("subject")
    sign.add_argument("visit", nargs="?", help="sign this visit (all its forms), or with FORM one form")
    sign.add_argument("form", nargs="?")
    sign.add_argument(
        "--meaning",
        required=True,
        choices=MEANING_CODES,
        help="author: I wrote it; review: I reviewed it; approve: I reviewed and approve it",
    )

    pdf = sub.add_parser(
        "pdf",
        parents=[common],
        help="print a form, a visit or a casebook as PDF; --blank: the blank CRF set; `pdf verify FILE.pdf`: check a printout against the store",
    )
    pdf.add_argument("subject", nargs="?", help="the subject to print, or `verify`")
    pdf.add_argument("visit", nargs="?", help="print this visit only (with `verify`: the PDF file)")
    pdf.add_argument("form", nargs="?", help="print this form of the visit only")
    pdf.add_argument("-o", "--output", type=Path, metavar="FILE.pdf", help="where to write the PDF")
    pdf.add_argument("--blank", action="store_true", help="the blank CRF set for paper back-up (needs no store)")
    pdf.add_argument("--audit", action="store_true", help="append the audit trail of the printed forms")
    pdf.add_argument("--forms", type=Path, help="with --blank: definitions directory (default: the shipped forms)")


def run_pdf_command(args: argparse.Namespace) -> int:
    from ..definitions.errors import DefinitionErrors
    from ..store.errors import StoreError

    try:
        if args.command == "sign":
            return _sign(args)
        if args.blank:
            return _blank(args)
        if args.subject == "verify":
            return _verify(args)
        return _print(args)
    except DefinitionErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 1
    except (StoreError, Usage) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _write(path: Path | None, data: bytes) -> Path:
    if path is None:
        raise Usage("pdf: say where to write it with -o FILE.pdf")
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise Usage(f"{path}: cannot write: {exc.strerror}") from None
    return path


def _sign(args: argparse.Namespace) -> int:
    opened, password = open_store(args)
    with opened as store:
        result = store.sign(
            args.subject, args.visit, args.form, meaning=args.meaning, username=args.user, password=password
        )
    s = result.signature
    print(
        f"signed {s.scope} {' / '.join(x for x in (s.subject, s.visit, s.form) if x)} ({len(result.signed)} form(s)) as {s.full_name} ({s.role}) at {s.signed_at()}"
    )
    print(f"meaning: {s.meaning_text('en')}")
    print(f"content SHA-256: {s.content_hash}")
    return 0


def _blank(args: argparse.Namespace) -> int:
    from ..definitions.loader import load_study
    from ..pdf import blank_crf_pdf

    if args.subject is not None:
        raise Usage("pdf --blank prints every form empty; it takes no SUBJECT")
    if args.output is None:
        raise Usage("pdf: say where to write it with -o FILE.pdf")
    path = _write(args.output, blank_crf_pdf(load_study(args.forms)))
    print(f"wrote the blank CRF set to {path}")
    return 0


def _print(args: argparse.Namespace) -> int:
    if args.subject is None:
        raise Usage("pdf needs a SUBJECT [VISIT [FORM]], --blank, or `verify FILE.pdf`")
    if args.output is None:
        raise Usage("pdf: say where to write it with -o FILE.pdf")
    opened, _ = open_store(args)
    with opened as store:
        data = record_pdf(store, args.subject, args.visit, args.form, audit_appendix=args.audit)
    path = _write(args.output, data)
    print(f"wrote {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    if args.visit is None or args.form is not None:
        raise Usage("usage: cik-ecrf pdf verify FILE.pdf")
    source = Path(args.visit)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise Usage(f"{source}: cannot read: {exc.strerror}") from None
    from ..store.errors import AuthError, StoreError

    opened, _ = open_store(args)
    with opened as store:
        try:
            result = verify_record(store, data)
        except AuthError:
            raise
        except StoreError as exc:
            raise Usage(f"{source}: {exc}") from None
    for s in result.signatures:
        state = (
            "valid"
            if s.active and s.content_hash == result.current_hash
            else "CLEARED (needs re-signing)"
            if not s.active
            else "over other content"
        )
        print(f"  signature: {s.full_name} ({s.role}), {s.meaning}, {s.signed_at()}: {state}")
    if not result.matches:
        print(f"{source}: {result.message}", file=sys.stderr)
        return 1
    print(f"{source}: {result.message}")
    return 0
