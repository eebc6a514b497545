"""The monitoring actions a user makes on this laptop: each checks the rule table with the user's
role (the server checks again with its own record), writes its audited event, and applies it to the
laptop's tables through the same code a pulled event takes (`monitoring_sql.LaptopMonitoring`)."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.queries import LOCK_ROLES, SDV_ROLES, TRANSITIONS, refusal
from ..events.monitoring import QueryOpened, SdvVerified
from . import audit, monitoring_sql
from .errors import PermissionDenied, StoreError, ValidationFailed
from .monitoring import as_change

if TYPE_CHECKING:
    from .api import Store

#: a CSV of queries to open: larger is a mistake (5,000 queries are a few hundred kB)
MAX_CSV_BYTES = 8 * 1024 * 1024
CSV_COLUMNS = ("subject", "visit", "form", "field", "text")


def _target(
    conn: Any, study: Any, subject: str, visit: str, form: str | None, field: str | None, instance: str | None
) -> dict[str, Any]:
    """Where a query points, read from this laptop's data; a StoreError naming what is missing."""
    row = conn.exec_driver_sql("SELECT id, number FROM subject WHERE number = ? OR id = ?", (subject, subject)).first()
    if row is None:
        raise StoreError(f"no subject {subject!r} in this store")
    subject_id, number = row
    if visit not in study.visit_ids():
        raise StoreError(f"visit: unknown visit {visit!r} (one of: {', '.join(study.visit_ids())})")
    if form is None:
        if field:
            raise StoreError("a field is named with its form (SUBJECT VISIT FORM FIELD)")
        return {"subject_id": subject_id, "visit_id": visit, "scope": "visit", "number": number}
    if form not in study.forms_at(visit):
        raise StoreError(
            f"form: {form!r} is not collected at visit {visit} (there: {', '.join(study.forms_at(visit))})"
        )
    if field and field not in study.forms[form].fields:
        raise StoreError(f"field: form {form} has no field {field!r}")
    found = [
        r[0]
        for r in conn.exec_driver_sql(
            "SELECT i.id FROM form_instance i JOIN visit v ON v.id = i.visit_pk WHERE v.subject_id = ? AND v.visit_id = ? AND i.form_id = ? ORDER BY i.created_at",
            (subject_id, visit, form),
        )
    ]
    if instance is not None and instance not in found:
        raise StoreError(f"instance {instance} is not a {form} form of {number} at {visit}")
    if not found:
        raise StoreError(f"{number} / {visit} / {form}: no such form entered yet")
    if instance is None and len(found) > 1:
        raise StoreError(
            f"{number} / {visit} / {form}: {len(found)} forms of this repeating form; name one (--instance)"
        )
    return {
        "subject_id": subject_id,
        "visit_id": visit,
        "form_id": form,
        "instance_id": instance or found[0],
        "field_id": field or None,
        "scope": "field" if field else "form",
        "number": number,
    }


def open_queries(store: Store, targets: list[tuple[Any, ...]], kind: str = "manual") -> list[str]:
    """Open one query per (subject, visit, form, field, text, instance); all in one transaction."""
    transition = "open" if kind == "manual" else "open_review"
    problem = refusal(transition, None, store.actor.role, store.actor.username, None)
    if problem:
        raise PermissionDenied(problem)
    store.require()
    ids = []
    with store.unit_of_work() as session:
        conn = session.connection()
        chain = audit.Chain(session)
        tables = monitoring_sql.LaptopMonitoring(conn)
        for subject, visit, form, field, text, instance in targets:
            if not text or not text.strip():
                raise StoreError("query rule: a query needs a text (--text)")
            where = _target(conn, store.study, subject, visit, form, field, instance)
            query_id = str(uuid.uuid4())
            body = QueryOpened(query=query_id, scope=where["scope"], kind=kind, text=text.strip())
            row = chain.append(
                store.actor,
                "query_open",
                subject_id=where["subject_id"],
                visit_id=visit,
                form_id=where.get("form_id"),
                instance_id=where.get("instance_id"),
                field_id=where.get("field_id"),
                new_json=body.model_dump_json(),
            )
            tables.open_query(as_change(row), body)
            ids.append(query_id)
        chain.close()
    return ids


def step(
    store: Store, query_id: str, transition: str, text: str | None, correction: dict[str, Any] | None = None
) -> None:
    """Answer, close or reopen a query (with a correction: the values saved first, `text` their reason)."""
    store.require()
    move = TRANSITIONS[transition]
    if move.needs_text and not (text and text.strip()):
        raise StoreError(f"query rule: to {transition} a query needs a text (--text)")
    if move.needs_reason and not (text and text.strip()):
        raise StoreError(f"query rule: to {transition} a query needs a reason (--reason)")
    with store.unit_of_work() as session:
        conn = session.connection()
        query = conn.exec_driver_sql(
            "SELECT q.status, q.opened_by, q.subject_id, q.visit_id, q.form_id, q.instance_id, q.field_id "
            "FROM monitoring_query q WHERE q.id = ?",
            (query_id,),
        ).first()
        problem = refusal(
            transition, None if query is None else query[0], store.actor.role, store.actor.username, query and query[1]
        )
        if problem:
            raise (StoreError if query is None or store.actor.role in move.roles else PermissionDenied)(problem)
        assert query is not None
        if correction:
            if transition != "answer" or query[5] is None:
                raise StoreError("query rule: only an answer to a field or form query carries a correction")
            from ..rules import Clock
            from .entry import SaveRequest, save_form

            number = conn.exec_driver_sql("SELECT number FROM subject WHERE id = ?", (query[2],)).scalar()
            save_form(
                session,
                store.study,
                store.rules,
                store.actor,
                SaveRequest(number, query[3], query[4], correction, instance=query[5], reason=text),
                Clock.system(),
            )
        chain = audit.Chain(session)
        body = {"query": query_id, "text": text.strip() if text and transition != "reopen" else None}
        if correction:
            body["correction"] = True
        row = chain.append(
            store.actor,
            f"query_{transition}",
            subject_id=query[2],
            visit_id=query[3],
            form_id=query[4],
            instance_id=query[5],
            field_id=query[6],
            new_json=monitoring_sql.payload(**body),
            reason=text.strip() if transition == "reopen" and text else None,
        )
        monitoring_sql.LaptopMonitoring(conn).step_query(as_change(row), transition, body["text"], bool(correction))
        chain.close()


def verify(store: Store, subject: str, visit: str, form: str | None, fields: tuple[str, ...]) -> int:
    if store.actor.role not in SDV_ROLES:
        raise PermissionDenied(f"SDV rule: a {store.actor.role} cannot verify source data (monitors only)")
    store.require()
    with store.unit_of_work() as session:
        conn = session.connection()
        if form is None:
            if fields:
                raise StoreError("fields are named with their form (SUBJECT VISIT FORM FIELD ...)")
            where = _target(conn, store.study, subject, visit, None, None, None)
            instances = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT i.id FROM form_instance i JOIN visit v ON v.id = i.visit_pk WHERE v.subject_id = ? AND v.visit_id = ?",
                    (where["subject_id"], visit),
                )
            ]
            if not instances:
                raise StoreError(f"{where['number']} / {visit}: no forms entered, nothing to verify")
        else:
            where = _target(conn, store.study, subject, visit, form, None, None)
            for field in fields:
                if field not in store.study.forms[form].fields:
                    raise StoreError(f"field: form {form} has no field {field!r}")
            instances = [where["instance_id"]]
        scope = "field" if fields else "form" if form else "visit"
        body = SdvVerified(scope=scope, instances=instances, fields=list(fields))
        chain = audit.Chain(session)
        row = chain.append(
            store.actor,
            "sdv_verify",
            subject_id=where["subject_id"],
            visit_id=visit,
            form_id=form,
            instance_id=instances[0] if form else None,
            new_json=body.model_dump_json(),
        )
        monitoring_sql.LaptopMonitoring(conn).verify(as_change(row), body)
        chain.close()
    return len(instances)


def lock(store: Store, subject: str, visit: str | None, form: str | None, reason: str | None) -> list[str]:
    """Lock (reason None) or unlock (with its reason) a subject, a visit or a form."""
    action = "record_lock" if reason is None else "record_unlock"
    verb = "lock" if reason is None else "unlock"
    if store.actor.role not in LOCK_ROLES:
        raise PermissionDenied(f"lock rule: a {store.actor.role} cannot {verb} (data managers only)")
    if reason is not None and not reason.strip():
        raise StoreError("lock rule: unlocking needs a reason (--reason)")
    if form is not None and visit is None:
        raise StoreError("a form is named with its visit (SUBJECT VISIT FORM)")
    store.require()
    with store.unit_of_work() as session:
        conn = session.connection()
        row = conn.exec_driver_sql(
            "SELECT id, number FROM subject WHERE number = ? OR id = ?", (subject, subject)
        ).first()
        if row is None:
            raise StoreError(f"no subject {subject!r} in this store")
        if visit is not None and visit not in store.study.visit_ids():
            raise StoreError(f"visit: unknown visit {visit!r}")
        if form is not None and form not in store.study.forms_at(visit):
            raise StoreError(f"form: {form!r} is not collected at visit {visit}")
        where = (row[0], visit or "", form or "")
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM monitoring_lock WHERE subject_id = ? AND visit_id = ? AND form_id = ?", where
        ).first()
        what = " / ".join(x for x in (row[1], visit, form) if x)
        if reason is None and exists:
            raise StoreError(f"lock rule: {what} is locked already")
        if reason is not None and not exists:
            raise StoreError(f"lock rule: {what} has no lock of its own to unlock")
        scope = "form" if form else "visit" if visit else "subject"
        chain = audit.Chain(session)
        event = chain.append(
            store.actor,
            action,
            subject_id=row[0],
            visit_id=visit,
            form_id=form,
            new_json=monitoring_sql.payload(scope=scope),
            reason=reason.strip() if reason else None,
        )
        tables = monitoring_sql.LaptopMonitoring(conn)
        voided = tables.lock(as_change(event), where) if reason is None else tables.unlock(as_change(event), where)
        chain.close()
    return voided or []


def import_csv(store: Store, path: Path | str) -> list[str]:
    """Bulk open: every row checked first; one error per bad row as FILE:LINE: what; none opened then."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise StoreError(f"{name}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_CSV_BYTES:
        raise StoreError(f"{name}: larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StoreError(f"{name}: not UTF-8 text (invalid byte at offset {exc.start})") from None
    reader = csv.reader(io.StringIO(text))
    rows = list(reader)
    if not rows:
        raise StoreError(f"{name}: empty; expected the columns {', '.join(CSV_COLUMNS)}")
    header = [c.strip().lower() for c in rows[0]]
    if header != list(CSV_COLUMNS):
        raise StoreError(f"{name}:1: expected the header {','.join(CSV_COLUMNS)}, found {','.join(header)[:100]}")
    targets, errors = [], []
    with store.unit_of_work() as session:
        conn = session.connection()
        for line, cells in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(CSV_COLUMNS):
                errors.append(f"{name}:{line}: expected {len(CSV_COLUMNS)} columns, found {len(cells)}")
                continue
            subject, visit, form, field, query_text = (c.strip() for c in cells)
            if not query_text:
                errors.append(f"{name}:{line}: text: a query needs a text")
                continue
            try:
                _target(conn, store.study, subject, visit, form or None, field or None, None)
            except StoreError as exc:
                errors.append(f"{name}:{line}: {exc}")
                continue
            targets.append((subject, visit, form or None, field or None, query_text, None))
    if errors:
        raise ValidationFailed(errors)
    if not targets:
        raise StoreError(f"{name}: no queries in the file")
    return open_queries(store, targets)


def review_warnings(store: Store, subject: str, visit: str, form: str, field: str | None, text: str) -> list[str]:
    """An investigator marks the warnings confirmed on a form (or on one field) for the monitor's review:
    one review query per field with a confirmed warning and no active review query yet."""
    from .save_sql import confirmed_so_far

    with store.unit_of_work() as session:
        conn = session.connection()
        where = _target(conn, store.study, subject, visit, form, field, None)
        confirmed = {f: keys for f, keys in confirmed_so_far(conn, where["instance_id"]).items() if keys}
        active = {
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT field_id FROM monitoring_query WHERE instance_id = ? AND kind = 'review' AND status IN ('open', 'answered')",
                (where["instance_id"],),
            )
        }
    fields = [f for f in sorted(confirmed) if (field is None or f == field) and f not in active]
    if not fields:
        what = f"{field} of {form}" if field else form
        raise StoreError(f"query rule: {what} has no confirmed warning left to mark for review")
    notes = {f: ", ".join(sorted(k.split(":", 1)[1] for k in confirmed[f])) for f in fields}
    return open_queries(
        store,
        [(subject, visit, form, f, f"{text.strip()} (confirmed: {notes[f]})", where["instance_id"]) for f in fields],
        "review",
    )
