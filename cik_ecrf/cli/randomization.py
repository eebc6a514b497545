"""Randomization from the command line.

On a laptop (online, as an investigator): `cik-ecrf randomize SUBJECT [--json]`, `cik-ecrf unblind
SUBJECT --reason TEXT [--json]` (asks for the password again), and `cik-ecrf codebreak SUBJECT
--reason TEXT --opened-at TIME` (records that the pharmacy's printed sheet was opened).

On the server (each act proven with a server user's password, role from the server's User table):
`cik-ecrf server randomization generate|verify|export|void|allow-again|list` and
`cik-ecrf server unblinding list`. Only unblinded roles (statistician, pharmacist) generate, verify or
export the list; a data manager corrects randomizations and lists unblindings. Nothing here prints an
arm, except `unblind` to the investigator who asked.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

LAPTOP_COMMANDS = ("randomize", "unblind", "codebreak")
SERVER_GROUPS = ("randomization", "unblinding")


# ---------------------------------------------------------------- laptop


def add_randomization_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    rand = sub.add_parser(
        "randomize", parents=[common], help="randomize a subject on the central server (investigator, online)"
    )
    rand.add_argument("subject", help="the subject's number")
    rand.add_argument("--json", action="store_true", help='print {"subject", "RANDNO", "PRODID", "RANDDTC"}')
    rand.add_argument("--ca-cert", type=Path, help="trust this CA certificate (PEM) for the server's TLS")
    unblind = sub.add_parser(
        "unblind",
        parents=[common],
        help="emergency unblinding of one subject (investigator, online; asks for the password again; audited)",
    )
    unblind.add_argument("subject", help="the subject's number")
    unblind.add_argument("--reason", required=True, help="why the treatment must be known (kept on the server)")
    unblind.add_argument("--json", action="store_true", help='print {"subject", "arm"}')
    unblind.add_argument("--ca-cert", type=Path, help="trust this CA certificate (PEM) for the server's TLS")
    sheet = sub.add_parser(
        "codebreak",
        parents=[common],
        help="record that a subject's printed code-break sheet was opened while the server was out of reach",
    )
    sheet.add_argument("subject", help="the subject's number")
    sheet.add_argument("--reason", required=True, help="why the sheet was opened")
    sheet.add_argument("--opened-at", required=True, help="when it was opened (ISO, e.g. 2026-03-01T02:10+08:00)")
    sheet.add_argument("--ca-cert", type=Path, help="trust this CA certificate (PEM) for the server's TLS")


def run_randomization_command(args: argparse.Namespace) -> int:
    from ..core.errors import UserError
    from .common import Usage, bounded, open_store, read_password

    try:
        store, password = open_store(args)
        verify: bool | str = str(args.ca_cert) if args.ca_cert else True
        try:
            if args.command == "randomize":
                return _randomize(store, args, password, verify)
            again = read_password("CIK_ECRF_PASSWORD", f"Password for {args.user}, again (unblinding is audited): ")
            if args.command == "unblind":
                return _unblind(store, args, again, verify)
            from ..sync.randomize import record_codebreak

            record_codebreak(store, args.subject, args.user, again, args.reason, args.opened_at, verify=verify)
            print(f"recorded: the code-break sheet of subject {args.subject} was opened at {args.opened_at}")
            return 0
        finally:
            store.close()
    except (UserError, Usage) as exc:
        print(f"error: {bounded(exc)}", file=sys.stderr)
        return 1


def _randomize(store: Any, args: argparse.Namespace, password: str, verify: bool | str) -> int:
    from ..sync.randomize import randomize

    allocation = randomize(store, args.subject, args.user, password, verify=verify)
    shown = {
        "subject": args.subject,
        "RANDNO": allocation.randno,
        "PRODID": allocation.prodid,
        "RANDDTC": allocation.randdtc,
    }
    if args.json:
        print(json.dumps(shown, ensure_ascii=False))
    else:
        print(
            f"subject {args.subject} randomized: RANDNO {allocation.randno}, product code {allocation.prodid}, "
            f"at {allocation.randdtc}"
        )
    return 0


def _unblind(store: Any, args: argparse.Namespace, password: str, verify: bool | str) -> int:
    from ..definitions.randomization import arm_label
    from ..sync.randomize import unblind

    arm = unblind(store, args.subject, args.user, password, args.reason, verify=verify)
    if args.json:
        print(json.dumps({"subject": args.subject, "arm": arm}, ensure_ascii=False))
    else:
        print(
            f"subject {args.subject}: {arm_label(store.study, arm, 'en')} / {arm_label(store.study, arm, 'zh')} ({arm})"
        )
    return 0


# ---------------------------------------------------------------- server


def add_randomization_server_commands(actions: Any, db: Any) -> None:
    rand = actions.add_parser(
        "randomization", help="the allocation list: generate, verify, export (unblinded roles); void, allow-again"
    ).add_subparsers(dest="randomization_command", metavar="ACTION", required=True)
    user_help = "the server user acting (password from CIK_ECRF_PASSWORD or a prompt)"
    generate = rand.add_parser(
        "generate", help="make the allocation list (statistician); refused when the current one is in use"
    )
    verify = rand.add_parser("verify", help="re-check the list against its SHA-256 and its seed (unblinded roles)")
    export = rand.add_parser(
        "export", help="product codes per arm for the pharmacy, as CSV or PDF (unblinded roles; audited)"
    )
    export.add_argument("--role", required=True, choices=["pharmacist", "statistician"], help="the export's reader")
    export.add_argument("-o", "--output", required=True, type=Path, help="FILE.csv or FILE.pdf")
    export.add_argument("--codebreak", action="store_true", help="print the sealed code-break sheets (PDF) instead")
    void = rand.add_parser(
        "void", help="mark a randomization as made in error (data manager; its slot is never reused)"
    )
    void.add_argument("randno", help="the randomization number")
    void.add_argument("--reason", required=True)
    void.add_argument(
        "--allow-again", action="store_true", help="and decide now that the subject may be randomized again"
    )
    again = rand.add_parser(
        "allow-again", help="decide that the subject of a voided randomization may be randomized again (data manager)"
    )
    again.add_argument("randno", help="the voided randomization's number")
    again.add_argument("--reason", required=True)
    listing = rand.add_parser("list", help="randomizations without arms (data manager)")
    for parser in (generate, verify, export, void, again, listing):
        parser.add_argument("--user", required=True, help=user_help)
        db(parser, suppress=True)
    unblinding = actions.add_parser(
        "unblinding", help="emergency unblindings and code-break sheets used"
    ).add_subparsers(dest="unblinding_command", metavar="ACTION", required=True)
    ulist = unblinding.add_parser("list", help="every unblinding: who, when, why, which subject (never the arm)")
    ulist.add_argument("--user", required=True, help=user_help)
    db(ulist, suppress=True)


def _acting(engine: Any, username: str, roles: frozenset[str], what: str) -> tuple[str, str]:
    """The server user's password checked (with the login throttle) and role from the User table."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from ..server import auth, ratelimit
    from ..server.database import ServerError
    from ..server.models import User
    from .common import read_password

    password = read_password("CIK_ECRF_PASSWORD", f"Password for {username}: ")
    try:
        auth.check_password(engine, engine, ratelimit.Limits(), username, password, "command line")
    except auth.Denied as exc:
        raise ServerError(str(exc)) from None
    with Session(engine) as session, session.begin():
        ratelimit.succeeded(session, username, "command line")
        role = session.scalar(select(User.role).where(User.username == username)) or ""
    if role not in roles:
        raise ServerError(f"{_a(role)} cannot {what} ({username} is {_a(role)}; it needs: {', '.join(sorted(roles))})")
    return username, role


def run_randomization_server(engine: Any, args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from ..core.roles import RANDOMIZATION_CORRECTOR_ROLES, UNBLINDED_ROLES
    from ..definitions.errors import DefinitionErrors
    from ..definitions.loader import load_study
    from ..definitions.randomization import design
    from ..server.database import ServerError
    from ..server.randomization import assign, export, lists, queries

    if args.server_command == "unblinding":
        _acting(engine, args.user, RANDOMIZATION_CORRECTOR_ROLES | {"admin"}, "list unblindings")
        with Session(engine) as session:
            records = queries.unblindings(session)
        for r in records:
            sheet = f" (sheet opened {r.opened_at})" if r.opened_at else ""
            print(f"{r.at[:19]} {r.site} {r.subject} {r.randno} {r.kind}{sheet} by {r.username} ({r.role}): {r.reason}")
        if not records:
            print("no unblinding recorded")
        return 0
    command = args.randomization_command
    try:
        plan = design(load_study())
    except DefinitionErrors as exc:
        raise ServerError(
            f"the study definitions cannot be read: {exc.errors[0]} ({len(exc.errors)} error(s))"
        ) from None
    if plan is None:
        raise ServerError("forms/study.json has no randomization design")
    try:
        if command in ("generate", "verify", "export"):
            roles = frozenset({args.role}) if command == "export" else UNBLINDED_ROLES
            if command == "generate":
                roles = frozenset({"statistician"})
            username, role = _acting(engine, args.user, roles & UNBLINDED_ROLES, f"{command} the allocation list")
            with Session(engine) as session, session.begin():
                if command == "generate":
                    made = lists.generate(session, plan, username, role)
                    print(f"allocation list {made.id}: {made.slots} slots, SHA-256 {made.sha256}")
                elif command == "verify":
                    result = lists.verify(session, plan, username, role)
                    for problem in result.problems:
                        print(f"error: {problem}", file=sys.stderr)
                    print(
                        f"allocation list {result.list_id}: {result.slots} slots, SHA-256 {result.sha256}: {'OK' if result.ok else 'FAILED'}"
                    )
                    return 0 if result.ok else 1
                else:
                    count, digest = export.export(session, plan, args.output, username, role, codebreak=args.codebreak)
                    print(f"wrote {args.output}: {count} slots, SHA-256 {digest} (audited)")
            return 0
        username, role = _acting(engine, args.user, RANDOMIZATION_CORRECTOR_ROLES, "correct randomizations")
        who = assign.Who(username, role, "", "server")
        if command == "void":
            number = assign.void(engine, who, args.randno, args.reason, args.allow_again)
            then = "; it may be randomized again" if args.allow_again else ""
            print(f"randomization {args.randno} of subject {number} marked as made in error{then}")
        elif command == "allow-again":
            number = assign.allow_again(engine, who, args.randno, args.reason)
            print(f"subject {number} may be randomized again (decision recorded)")
        else:
            with Session(engine) as session:
                for a in queries.allocations(session):
                    state = " VOID" if a.voided_at else (" unblinded" if a.unblinded else "")
                    print(
                        f"{a.randdtc} {a.site} {a.subject} {a.randno} {a.prodid} {a.stratum} #{a.attempt} by {a.username}{state}"
                    )
        return 0
    except assign.Refusal as exc:
        raise ServerError(str(exc)) from None


def _a(role: str) -> str:
    """ "a nurse", "an investigator", "an admin" (refusals read as sentences)."""
    return f"{'an' if role[:1] in 'aeiou' else 'a'} {role.replace('_', ' ')}"
