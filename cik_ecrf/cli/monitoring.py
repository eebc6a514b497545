"""Monitoring from the command line: conflicts and their resolution, data queries, source-data
verification, locks. Every verb acts on this laptop's store as --user (it syncs like any data); every
refusal is one line on stderr naming the rule ("query rule: …", "lock rule: …"), exit 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from .common import Usage, bounded, open_store

COMMANDS = frozenset({"conflicts", "resolve", "query", "sdv", "lock", "unlock"})
STATUSES = ("open", "answered", "closed", "closed_modified")


def add_monitoring_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    conflicts = sub.add_parser(
        "conflicts", parents=[common], help="fields in conflict, with every candidate value, author, device and time"
    )
    conflicts.add_argument("subject", nargs="?")
    conflicts.add_argument("--json", action="store_true")
    resolve = sub.add_parser("resolve", parents=[common], help="resolve a field in conflict with a value and a reason")
    resolve.add_argument("instance", help="the form instance (from `conflicts`)")
    resolve.add_argument("field")
    resolve.add_argument("--value", required=True, help='the chosen value as JSON, e.g. 38.2 or "Y" or null')
    resolve.add_argument("--reason", required=True)

    query = sub.add_parser("query", help="data queries: open, answer, close, reopen, list, show, import")
    verbs = query.add_subparsers(dest="query_command", metavar="ACTION", required=True)
    opened = verbs.add_parser("open", parents=[common], help="raise a query on a field, a form or a visit")
    opened.add_argument("subject")
    opened.add_argument("visit")
    opened.add_argument("form", nargs="?", help="omit for a query on the whole visit")
    opened.add_argument("field", nargs="?", help="omit for a query on the whole form")
    opened.add_argument("--text", required=True)
    opened.add_argument("--instance", help="which form, for a repeating form")
    review = verbs.add_parser(
        "review", parents=[common], help="investigator: mark the form's confirmed warnings for the monitor's review"
    )
    for name in ("subject", "visit", "form"):
        review.add_argument(name)
    review.add_argument("field", nargs="?", help="only this field's warnings")
    review.add_argument("--text", required=True)
    answer = verbs.add_parser("answer", parents=[common], help="answer a query (site staff)")
    answer.add_argument("id")
    answer.add_argument("--text", required=True, help="the explanation (with --correction: the change's reason)")
    answer.add_argument("--correction", help='corrected values as JSON, {"FIELD": value}: saved with the answer')
    close = verbs.add_parser("close", parents=[common], help="close a query (monitor, data manager, or its opener)")
    close.add_argument("id")
    close.add_argument("--text", help="a closing note")
    reopen = verbs.add_parser("reopen", parents=[common], help="open an answered or closed query again, with a reason")
    reopen.add_argument("id")
    reopen.add_argument("--reason", required=True)
    listed = verbs.add_parser("list", parents=[common], help="list queries (the worklist)")
    listed.add_argument("subject", nargs="?")
    listed.add_argument("--status", choices=STATUSES, action="append", help="repeat for several")
    listed.add_argument("--form")
    listed.add_argument("--older-than", type=int, metavar="DAYS")
    listed.add_argument("--json", action="store_true")
    shown = verbs.add_parser("show", parents=[common], help="a query with its whole thread")
    shown.add_argument("id")
    shown.add_argument("--json", action="store_true")
    imported = verbs.add_parser(
        "import", parents=[common], help="open queries from a CSV: subject,visit,form,field,text"
    )
    imported.add_argument("file", type=Path)
    verbs.add_parser("rules", help="the query states and who may move them")

    sdv = sub.add_parser("sdv", parents=[common], help="mark source data verified: fields, a form, or a visit")
    sdv.add_argument("subject")
    sdv.add_argument("visit", nargs="?", help="omit with --progress")
    sdv.add_argument("form", nargs="?", help="omit to verify every form of the visit")
    sdv.add_argument("fields", nargs="*", help="omit to verify the whole form")
    sdv.add_argument("--progress", action="store_true", help="print verification progress per visit instead")
    for name, text in (
        ("lock", "lock a subject, a visit or a form (data manager)"),
        ("unlock", "unlock, with a reason"),
    ):
        verb = sub.add_parser(name, parents=[common], help=text)
        verb.add_argument("subject")
        verb.add_argument("visit", nargs="?")
        verb.add_argument("form", nargs="?")
        if name == "unlock":
            verb.add_argument("--reason", required=True)


def run_monitoring_command(args: argparse.Namespace) -> int:
    from ..store.errors import StoreError, ValidationFailed

    try:
        if args.command == "query" and args.query_command == "rules":
            return _rules()
        correction = _json_arg(args.correction, "--correction") if getattr(args, "correction", None) else None
        value = _json_arg(args.value, "--value") if args.command == "resolve" else None
        store, _ = open_store(args)
        with store:
            return _dispatch(store, args, correction, value)
    except ValidationFailed as exc:
        for line in exc.lines:
            print(bounded(line), file=sys.stderr)
        return 1
    except (StoreError, Usage) as exc:
        print(f"error: {bounded(exc)}", file=sys.stderr)
        return 1


def _json_arg(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Usage(f"{name}: not valid JSON ({exc.msg} at character {exc.pos})") from None


def _dispatch(store: Any, args: argparse.Namespace, correction: Any, value: Any) -> int:
    monitoring = store.monitoring
    command = args.command
    if command == "conflicts":
        return _conflicts(store, args.subject, args.json)
    if command == "resolve":
        _refuse_if_locked(store, args.instance)
        store.resolve_conflict(args.instance, args.field, value, args.reason)
        print(f"resolved {args.field} of {args.instance}; it syncs with the next `cik-ecrf sync`")
    elif command == "query":
        return _query(monitoring, args, correction)
    elif command == "sdv" and args.progress:
        progress = monitoring.sdv_progress(args.subject)
        for visit in progress.visits:
            dropped = f", {visit.dropped} dropped" if visit.dropped else ""
            print(f"{visit.visit_id}: {visit.verified}/{visit.forms} forms verified{dropped}")
        print(f"{progress.subject}: {progress.verified}/{progress.forms} forms verified")
    elif command == "sdv":
        if args.visit is None:
            raise Usage("sdv: SUBJECT VISIT [FORM [FIELD ...]], or SUBJECT --progress")
        count = monitoring.verify(args.subject, args.visit, args.form, args.fields)
        what = f"{len(args.fields)} field(s) of " if args.fields else ""
        print(f"verified {what}{count} form(s) of {args.subject} at {args.visit}")
    elif command == "lock":
        monitoring.lock(args.subject, args.visit, args.form)
        print(f"locked {' / '.join(x for x in (args.subject, args.visit, args.form) if x)}")
    elif command == "unlock":
        monitoring.unlock(args.subject, args.visit, args.form, reason=args.reason)
        what = " / ".join(x for x in (args.subject, args.visit, args.form) if x)
        print(f"unlocked {what}; signatures over it are void (on the server, and on each laptop as it syncs)")
    return 0


def _refuse_if_locked(store: Any, instance_id: str) -> None:
    from ..store import monitoring_sql

    with store.unit_of_work() as session:
        conn = session.connection()
        row = conn.exec_driver_sql(
            "SELECT v.subject_id, v.visit_id, i.form_id FROM form_instance i JOIN visit v ON v.id = i.visit_pk WHERE i.id = ?",
            (instance_id,),
        ).first()
        if row is not None:
            monitoring_sql.refuse_locked(conn, *row)


def _conflicts(store: Any, subject: str | None, as_json: bool) -> int:
    found = [c for c in store.conflicts() if subject is None or c.subject == subject]
    if as_json:
        print(json.dumps([_conflict_json(c) for c in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no fields in conflict" + (f" for {subject}" if subject else ""))
    for conflict in found:
        print(
            f"{conflict.subject} / {conflict.visit_id} / {conflict.form_id} / {conflict.field_id} "
            f"(instance {conflict.instance_id}): shows {json.dumps(conflict.current, ensure_ascii=False)}"
        )
        for candidate in conflict.candidates:
            print(
                f"    {json.dumps(candidate.value, ensure_ascii=False)} by {candidate.username} on device "
                f"{candidate.device_id} at {candidate.at_utc}"
            )
    return 0


def _conflict_json(conflict: Any) -> dict[str, Any]:
    return {
        "subject": conflict.subject,
        "visit": conflict.visit_id,
        "form": conflict.form_id,
        "instance": conflict.instance_id,
        "field": conflict.field_id,
        "current": conflict.current,
        "candidates": [dataclasses.asdict(c) for c in conflict.candidates],
        "conflict_seq": conflict.conflict_seq,
    }


def _query(monitoring: Any, args: argparse.Namespace, correction: Any) -> int:
    verb = args.query_command
    if verb == "open":
        query_id = monitoring.open_query(
            args.subject, args.visit, args.form, args.field, text=args.text, instance=args.instance
        )
        print(query_id)
    elif verb == "review":
        print("\n".join(monitoring.review_warnings(args.subject, args.visit, args.form, args.text, args.field)))
    elif verb == "answer":
        if correction is not None and not isinstance(correction, dict):
            raise Usage('--correction: expected an object of field values, {"FIELD": value}')
        monitoring.answer_query(args.id, args.text, correction)
        print(f"answered {args.id}")
    elif verb == "close":
        monitoring.close_query(args.id, args.text)
        print(f"closed {args.id}")
    elif verb == "reopen":
        monitoring.reopen_query(args.id, args.reason)
        print(f"reopened {args.id}")
    elif verb == "import":
        ids = monitoring.import_queries(args.file)
        print(f"opened {len(ids)} queries from {args.file}")
    elif verb == "show":
        row, thread = monitoring.query(args.id), monitoring.thread(args.id)
        if args.json:
            body = {**dataclasses.asdict(row), "thread": [dataclasses.asdict(m) for m in thread]}
            print(json.dumps(body, ensure_ascii=False, indent=2))
            return 0
        print(_line(row))
        for message in thread:
            fix = " (with a correction)" if message.correction else ""
            note = f": {message.text}" if message.text else ""
            print(
                f"  {message.at_utc[:19]} {message.username} {message.transition} → {message.status_after}{fix}{note}"
            )
    else:
        rows = monitoring.queries(args.subject, args.status, args.form, args.older_than)
        if args.json:
            print(json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, indent=2))
            return 0
        for row in rows:
            print(_line(row))
        if not rows:
            print("no queries")
    return 0


def _line(row: Any) -> str:
    where = " / ".join(x for x in (row.subject, row.visit_id, row.form_id, row.field_id) if x)
    return (
        f"{row.id} [{row.status}] {where} ({row.kind}, by {row.opened_by}, {row.age_days} d): {bounded(row.text, 200)}"
    )


def _rules() -> int:
    from ..core.queries import role_table

    print("transition       from                              to               who")
    for name, sources, target, who in role_table():
        print(f"{name:<16} {sources:<33} {target:<16} {who}")
    return 0


# ---------------------------------------------------------------- `cik-ecrf show`: what stands on each form


def form_marks(store: Any, subject: str, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per form instance: fields in conflict with their candidates, active queries, SDV, lock, signatures."""
    from ..store.signatures import format_time, needs_resigning

    conflicts: dict[str, list[dict[str, Any]]] = {}
    for conflict in store.conflicts():
        if conflict.subject == subject:
            conflicts.setdefault(conflict.instance_id, []).append(_conflict_json(conflict))
    records = store.signatures(subject)
    resign = needs_resigning(records)
    monitoring = store.monitoring
    queries: dict[str | None, list[Any]] = {}
    for query in monitoring.queries(subject, status=("open", "answered")):
        queries.setdefault(query.instance_id or f"visit:{query.visit_id}", []).append(query)
    out = {}
    for row in rows:
        instance = row["instance"]
        lock = monitoring.lock_of(subject, row["visit"], row["form"])
        sdv = monitoring.sdv_state(instance)
        signatures = [
            {
                "signed_by": r.username,
                "full_name": r.full_name,
                "role": r.role,
                "meaning": r.meaning,
                "scope": r.scope,
                "signed_at": format_time(r.signed_at_utc, r.utc_offset_min),
                "active": r.active,
                "cleared_at_utc": r.cleared_at_utc,
                "cleared_reason": r.cleared_reason,
            }
            for r in records
            if instance in r.instances
        ]
        out[instance] = {
            "conflicts": conflicts.get(instance, []),
            "queries": [
                {
                    k: getattr(q, k)
                    for k in ("id", "status", "scope", "field_id", "kind", "text", "opened_by", "age_days")
                }
                for q in queries.get(instance, []) + queries.get(f"visit:{row['visit']}", [])
            ],
            "sdv": {"form": sdv.form, "fields": sdv.fields, "verified_by": sdv.verified_by},
            "lock": None
            if lock is None
            else {"scope": lock.scope, "locked_by": lock.locked_by, "locked_at_utc": lock.locked_at_utc},
            "signatures": signatures,
            "needs_signing_again": instance in resign,
        }
    return out


def describe_marks(marks: dict[str, Any]) -> list[str]:
    """The text `show` prints under a form's heading (field conflicts are printed with the fields)."""
    lines = []
    for signature in marks["signatures"]:
        who = f"{signature['full_name']} ({signature['signed_by']}, {signature['role']})"
        if signature["active"]:
            lines.append(f"signed by {who} at {signature['signed_at']}, meaning: {signature['meaning']}")
        else:
            lines.append(
                f"signature by {who} of {signature['signed_at']} cleared at {signature['cleared_at_utc'][:19]}: "
                f"{signature['cleared_reason'] or 'data changed'}"
            )
    if marks["needs_signing_again"]:
        lines.append("NEEDS SIGNING AGAIN: its signature was cleared by a change")
    if marks["lock"]:
        lock = marks["lock"]
        lines.append(f"LOCKED ({lock['scope']} lock) by {lock['locked_by']} at {lock['locked_at_utc'][:19]}")
    sdv = marks["sdv"]
    if sdv["form"] == "verified":
        lines.append(f"SDV: verified by {sdv['verified_by']}")
    elif sdv["form"] == "dropped":
        lines.append("SDV: verification dropped (the data changed after it was verified)")
    fields = sdv["fields"]
    if fields:
        verified = [f for f, s in sorted(fields.items()) if s == "verified"]
        dropped = [f for f, s in sorted(fields.items()) if s == "dropped"]
        if verified:
            lines.append(f"SDV: fields verified: {', '.join(verified)}")
        if dropped:
            lines.append(f"SDV: verification dropped: {', '.join(dropped)}")
    for query in marks["queries"]:
        on = query["field_id"] or query["scope"]
        lines.append(f"query [{query['status']}] on {on}: {bounded(query['text'], 120)} ({query['id']})")
    return lines


def conflict_note(marks: dict[str, Any], field: str) -> str:
    for conflict in marks["conflicts"]:
        if conflict["field"] == field:
            values = "; ".join(
                f"{json.dumps(_value(c['value']), ensure_ascii=False)} by {c['username']} on {c['device_id'][:8]} at {c['at_utc'][:19]}"
                for c in conflict["candidates"]
            )
            return f"   IN CONFLICT: {values}"
    return ""


def _value(value: Any) -> Any:
    from ..rules.jsonvalues import to_json

    return to_json(value)
