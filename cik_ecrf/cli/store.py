"""The store's command-line verbs: the scripting interface data managers and acceptance checks use.

Every verb takes --data-dir and --user; the password comes from CIK_ECRF_PASSWORD or a prompt. A
refusal is one clear line per problem on stderr, exit 1, and nothing changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from .common import Usage, bounded, default_data_dir, open_store, read_password


def add_store_commands(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir", type=Path, default=None, help="the store's directory (default: the user data directory)"
    )
    common.add_argument("--user", help="who is acting (the password comes from CIK_ECRF_PASSWORD or a prompt)")

    init = sub.add_parser("init", parents=[common], help="create a store for a site on this laptop")
    init.add_argument("--site", required=True, help="site code, e.g. BJ01")
    init.add_argument("--admin", required=True, help="user name of the first administrator")
    init.add_argument("--full-name", help="the administrator's printed name")
    init.add_argument(
        "--device-code", help="this laptop's code within the site (part of subject numbers); random if not given"
    )

    user = sub.add_parser("user", help="manage users (admin)")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = user_sub.add_parser(
        "add", parents=[common], help="add a user; first password from CIK_ECRF_NEW_PASSWORD or a prompt"
    )
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["nurse", "investigator", "monitor", "data_manager", "admin"])
    add.add_argument("--full-name", help="the printed name signatures show")

    role = user_sub.add_parser("role", parents=[common], help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=["nurse", "investigator", "monitor", "data_manager", "admin"])
    deactivate = user_sub.add_parser(
        "deactivate", parents=[common], help="stop a user from logging in (kept on the audit trail)"
    )
    deactivate.add_argument("name")

    sub.add_parser(
        "passwd", parents=[common], help="change your password (new one from CIK_ECRF_NEW_PASSWORD or a prompt)"
    )

    subject = sub.add_parser("subject", help="subjects")
    subject_sub = subject.add_subparsers(dest="subject_command", metavar="ACTION", required=True)
    subject_add = subject_sub.add_parser("add", parents=[common], help="register a subject; prints its number")
    subject_add.add_argument("--id", dest="number", help="a paper screening number to use instead of a new one")
    subject_sub.add_parser("list", parents=[common], help="list subject numbers")

    enter = sub.add_parser("enter", parents=[common], help="enter or change a form's values")
    enter.add_argument("subject")
    enter.add_argument("visit")
    enter.add_argument("form")
    enter.add_argument("--values", required=True, help='FILE.json or - for stdin: {"FIELD": value, ...}')
    enter.add_argument("--draft", action="store_true", help="save even with required fields empty")
    enter.add_argument("--instance", help="the form instance to change (repeating forms get a new one otherwise)")
    enter.add_argument("--reason", help="reason for change (required when the form is already complete)")
    enter.add_argument("--confirm-warnings", action="store_true", help="confirm the soft-check warnings (audited)")

    show = sub.add_parser("show", parents=[common], help="show a subject's data")
    show.add_argument("subject")
    show.add_argument("visit", nargs="?")
    show.add_argument("form", nargs="?")
    show.add_argument("--json", action="store_true")

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    log = audit_sub.add_parser("log", parents=[common], help="list audit events")
    log.add_argument("subject", nargs="?")
    log.add_argument("--json", action="store_true")
    audit_sub.add_parser("verify", parents=[common], help="check the hash chain; exit 1 naming the first broken link")
    return common


#: a values file is one form's values: anything larger is a mistake, refused before it is parsed
MAX_VALUES_BYTES = 4 * 1024 * 1024
#: objects and lists nested deeper than any form (a repeating group is an array of objects)
MAX_NESTING = 32
#: digits in one JSON number (Python refuses int() past 4,300 digits; no field needs a tenth of that)
MAX_DIGITS = 100


def _read_values(spec: str) -> dict[str, Any]:
    """The values file as an object of field values, or a `Usage` line saying where and what is wrong.

    Read as bytes and decoded here, so that invalid UTF-8, a byte-order mark, deep nesting, huge
    numbers and lone surrogates each end as one bounded line, never a traceback.
    """
    name = "<stdin>" if spec == "-" else spec
    try:
        if spec == "-":
            stream = getattr(sys.stdin, "buffer", None)  # a text stream (a test's StringIO) has no bytes
            raw = (
                stream.read(MAX_VALUES_BYTES + 1)
                if stream
                else sys.stdin.read(MAX_VALUES_BYTES + 1).encode("utf-8", "surrogatepass")
            )
        else:
            with open(spec, "rb") as handle:
                raw = handle.read(MAX_VALUES_BYTES + 1)
    except OSError as exc:
        raise Usage(f"{name}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_VALUES_BYTES:
        raise Usage(f"{name}: larger than {MAX_VALUES_BYTES // (1024 * 1024)} MB; one form's values are far smaller")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors write one) is accepted
    except UnicodeDecodeError as exc:
        raise Usage(f"{name}: not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None
    depth = _nesting(text)
    if depth > MAX_NESTING:
        raise Usage(f"{name}: objects or lists nested {depth} deep; a form's values nest at most {MAX_NESTING} deep")
    try:
        data = json.loads(text, parse_float=_number, parse_int=_number)
    except json.JSONDecodeError as exc:
        raise Usage(f"{name}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}") from None
    except ValueError as exc:
        raise Usage(f"{name}: {exc}") from None
    if not isinstance(data, dict):
        raise Usage(f'{name}: expected an object of field values, {{"FIELD": value}}')
    where = _lone_surrogate(data)
    if where is not None:
        raise Usage(f"{name}: {where}: text with a lone surrogate (\\ud800–\\udfff) is not valid Unicode")
    return data


def _number(text: str) -> Decimal | int:
    """Numbers as Decimal (floats) and int, bounded before conversion: a 5,000-digit integer is a line, not a crash."""
    digits = sum(c.isdigit() for c in text)
    if digits > MAX_DIGITS:
        raise ValueError(f"a number with {digits} digits (at most {MAX_DIGITS})")
    if any(c in text for c in ".eE"):
        return Decimal(text)
    return int(text)


def _nesting(text: str) -> int:
    """The deepest nesting of brackets outside strings: checked before parsing, which recurses."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_NESTING:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def _lone_surrogate(value: Any, path: str = "") -> str | None:
    """The path of the first key or text holding a lone surrogate (JSON allows `\\ud800`; UTF-8 does not)."""
    if isinstance(value, str):
        return (path or "a value") if any("\ud800" <= c <= "\udfff" for c in value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            if any("\ud800" <= c <= "\udfff" for c in key):
                return f"{path or 'the object'}: a key"
            found = _lone_surrogate(item, inner)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}[{index}]")
            if found:
                return found
    return None


def run_store_command(args: argparse.Namespace) -> int:
    from ..store.errors import StoreError, ValidationFailed

    try:
        return _dispatch(args)
    except ValidationFailed as exc:
        for line in exc.lines:
            print(bounded(line), file=sys.stderr)
        return 1
    except (StoreError, Usage) as exc:
        print(f"error: {bounded(exc)}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    from ..store.api import Store
    from ..store.entry import SaveRequest

    command = args.command
    if command == "init":
        directory = args.data_dir or default_data_dir()
        password = read_password("CIK_ECRF_PASSWORD", f"New password for {args.admin}: ", confirm=True)
        info = Store.init(directory, args.site, args.admin, password, args.full_name, args.device_code)
        print(f"created store {info.store_id} for site {info.site} (device {info.device_code}) in {directory}")
        return 0
    values = _read_values(args.values) if command == "enter" else None  # a bad file is refused before any login
    opened, password = open_store(args, report=not (command == "audit" and args.audit_command == "verify"))
    with opened as store:
        if command == "user" and args.user_command == "role":
            store.set_role(args.name, args.role)
            print(f"{args.name} is now {args.role}")
        elif command == "user" and args.user_command == "deactivate":
            store.deactivate_user(args.name)
            print(f"{args.name} can no longer log in")
        elif command == "user":
            store.add_user(
                args.name,
                args.role,
                read_password("CIK_ECRF_NEW_PASSWORD", f"First password for {args.name}: ", confirm=True),
                args.full_name,
            )
            print(f"added {args.role} {args.name}; they must change the password at first login")
        elif command == "passwd":
            store.change_password(password, read_password("CIK_ECRF_NEW_PASSWORD", "New password: ", confirm=True))
            print("password changed")
        elif command == "subject" and args.subject_command == "add":
            print(store.add_subject(args.number))
        elif command == "subject":
            print("\n".join(store.subject_numbers()))
        elif command == "enter":
            result = store.save(
                SaveRequest(
                    args.subject,
                    args.visit,
                    args.form,
                    values or {},
                    args.draft,
                    args.instance,
                    args.reason,
                    args.confirm_warnings,
                )
            )
            print(result.instance_id)
        elif command == "show":
            _show(store, args)
        elif command == "eligibility":
            from .eligibility import format_result

            result = store.eligibility(args.subject)
            print(json.dumps(result.as_json(), ensure_ascii=False, indent=2) if args.json else format_result(result))
        elif command == "audit" and args.audit_command == "log":
            _audit_log(store, args)
        elif command == "audit":
            return _verify(store)
    return 0


#: what a login found about the store itself; the first two mean committed work is missing or unreadable
LOST = ("store_rolled_back", "store_damaged")
NOTED = ("lockout_state_edited", "store_head_unreadable")


def _verify(store: Any) -> int:
    """The chain, and what logins found: a chain that is whole but shorter than what was committed is not intact."""
    from ..store.faults import RECOVER, clear_damage_mark
    from ..store.integrity import scan

    damage = scan(store.engine, store.directory)  # every page, whatever the size: this is the full check
    if damage:
        print(f"store DAMAGED: {bounded('; '.join(damage))}; {RECOVER}", file=sys.stderr)
        return 1
    if clear_damage_mark(store.directory):
        print("note: store.db passes a full scan now; the earlier damage mark is removed", file=sys.stderr)
    check = store.verify_audit()
    if not check.ok:
        print(f"audit trail BROKEN: {check.problem}", file=sys.stderr)
        return 1
    findings = [e for e in store.audit_events() if e.action in LOST + NOTED]
    for event in findings:
        print(f"found at login {event.at_utc} ({event.username}): {bounded(event.reason)}", file=sys.stderr)
    lost = [e for e in findings if e.action in LOST]
    if lost:
        print(
            f"audit trail INCOMPLETE: its {check.events} events chain correctly, but committed work was lost "
            f"or damaged {len(lost)} time(s) (see above); recover from the server or a backup",
            file=sys.stderr,
        )
        return 1
    from ..sync.authorship_check import check as check_authorship  # authorship: seals, e-signatures, replay

    problems, notes = check_authorship(store)
    if problems:
        for problem in problems:
            print(f"NOT PROVEN: {bounded(problem)}", file=sys.stderr)
        print(f"audit trail FORGED or rewritten: {len(problems)} problem(s) above", file=sys.stderr)
        return 1
    print(f"audit trail intact: {check.events} events")
    for note in notes:  # how far the authorship checks reached (the server's keys and anchor, or this laptop's)
        print(f"note: {bounded(note)}")
    return 0


def _show(store: Any, args: argparse.Namespace) -> None:
    from ..rules.jsonvalues import to_json
    from . import monitoring  # monitoring: what stands on each form

    subject, rows = store.subject_values(args.subject)
    rows = [
        r
        for r in rows
        if (args.visit is None or r["visit"] == args.visit) and (args.form is None or r["form"] == args.form)
    ]
    for row in rows:
        evaluation = store.evaluate(subject.number, row["visit"], row["form"], row["values"])
        row["derived"] = {
            f: to_json(v)
            for f, v in evaluation.values.items()
            if store.study.forms[row["form"]].fields[f].definition.type == "derived" and v is not None
        }
    marks = monitoring.form_marks(store, subject.number, rows)  # monitoring: conflicts, queries, SDV, lock, signatures
    for row in rows:  # monitoring
        row.update(marks[row["instance"]])  # monitoring
    if args.json:
        print(json.dumps({"subject": subject.number, "forms": rows}, ensure_ascii=False, indent=2))
        return
    print(f"Subject {subject.number}")
    for row in rows:
        print(f"  {row['visit']} / {row['form']} (v{row['version']}, {row['status']}) {row['instance']}")
        for line in monitoring.describe_marks(row):  # monitoring
            print(f"    {line}")  # monitoring
        for field, value in {**row["values"], **row["derived"]}.items():
            note = monitoring.conflict_note(row, field)  # monitoring: the field's competing values
            print(f"    {field} = {json.dumps(value, ensure_ascii=False)}{note}")  # monitoring: + note


def _audit_log(store: Any, args: argparse.Namespace) -> None:
    events = store.audit_events(args.subject)
    columns = (
        "seq",
        "at_utc",
        "utc_offset_min",
        "username",
        "role",
        "action",
        "subject_id",
        "visit_id",
        "form_id",
        "instance_id",
        "field_id",
        "old_json",
        "new_json",
        "reason",
        "confirmed_json",
        "device_id",
        "device_seq",
        "hash",
    )
    if args.json:
        print(json.dumps([{c: getattr(e, c) for c in columns} for e in events], ensure_ascii=False, indent=2))
        return
    for e in events:
        where = "/".join(x for x in (e.visit_id, e.form_id, e.field_id) if x)
        change = f" {e.old_json or '∅'} → {e.new_json or '∅'}" if e.action.startswith("value") else ""
        reason = f" reason: {e.reason}" if e.reason else ""
        print(f"#{e.seq} {e.at_utc} {e.username}({e.role or '-'}) {e.action} {where}{change}{reason}")
