"""The laptop's monitoring tables as the events change them: one code path for a change made here and
for one pulled from the server (`LaptopMonitoring`, the `MonitoringLaptop` the event types act on),
and the two checks the save path makes (a lock refuses the save; a saved change drops source-data
verification and makes closed queries closed_modified, as the server will say too)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from ..core.queries import TRANSITIONS
from ..events.change import Change
from ..events.monitoring import QueryOpened, SdvVerified, ServerQueryStep
from .errors import StoreError


class LaptopMonitoring:
    """Applies monitoring events to this laptop's tables, each once: an event applied here already (made
    here, or pulled before) is passed over when it comes again (`monitoring_applied`)."""

    def __init__(self, conn: Connection, own_device: str | None = None) -> None:
        self.conn = conn
        self.own_device = own_device

    def _seen(self, change: Change) -> bool:
        """True when this event was applied here already; otherwise it is recorded as applied now."""
        added = self.conn.exec_driver_sql(
            "INSERT OR IGNORE INTO monitoring_applied (event_id) VALUES (?)", (change.id,)
        )
        return not added.rowcount

    def open_query(self, change: Change, body: QueryOpened | ServerQueryStep) -> None:
        if self._seen(change):
            return
        kind = body.kind if isinstance(body, QueryOpened) else "conflict"
        text = body.text or ""
        inserted = self.conn.exec_driver_sql(
            "INSERT OR IGNORE INTO monitoring_query (id, subject_id, visit_id, form_id, instance_id, field_id, scope, kind, "
            "status, text, opened_by, opened_at_utc, updated_at_utc, messages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, 0)",
            (
                body.query,
                change.subject_id,
                change.visit_id,
                change.form_id,
                change.instance_id,
                change.field_id,
                body.scope,
                kind,
                text,
                change.username,
                change.at_utc,
                change.at_utc,
            ),
        )
        if inserted.rowcount:
            transition = {"manual": "open", "review": "open_review", "conflict": "conflict_open"}[kind]
            self._message(change, body.query, transition, text, "open", False)

    def step_query(self, change: Change, transition: str, text: str | None, correction: bool) -> None:
        if self._seen(change):
            return
        from ..events.monitoring import QueryStep, ServerQueryStep, payload_of

        model = ServerQueryStep if change.device_id == "server" else QueryStep
        query_id = payload_of(model, change).query
        if self.conn.exec_driver_sql("SELECT 1 FROM monitoring_query WHERE id = ?", (query_id,)).first() is None:
            return  # a query this laptop never heard of (opened before it joined): nothing to move
        target = TRANSITIONS[transition].target
        if transition == "modified":
            target_now = self.conn.exec_driver_sql(
                "SELECT status FROM monitoring_query WHERE id = ?", (query_id,)
            ).scalar()
            if target_now not in ("closed", "closed_modified"):
                return  # reopened here meanwhile: the later move stands
        note = change.reason if transition == "reopen" else text
        if self._message(change, query_id, transition, note, target, correction):
            self.conn.exec_driver_sql(
                "UPDATE monitoring_query SET status = ?, updated_at_utc = ? WHERE id = ?",
                (target, change.at_utc, query_id),
            )

    def _message(
        self, change: Change, query_id: str, transition: str, text: str | None, status: str, correction: bool
    ) -> bool:
        added = self.conn.exec_driver_sql(
            "INSERT OR IGNORE INTO monitoring_message (event_id, query_id, position, transition, username, role, at_utc, "
            "utc_offset_min, text, status_after, correction) SELECT ?, ?, coalesce(max(position), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ? "
            "FROM monitoring_message WHERE query_id = ?",
            (
                change.id,
                query_id,
                transition,
                change.username,
                change.role,
                change.at_utc,
                change.utc_offset_min,
                text,
                status,
                correction,
                query_id,
            ),
        )
        if added.rowcount:
            self.conn.exec_driver_sql("UPDATE monitoring_query SET messages = messages + 1 WHERE id = ?", (query_id,))
        return bool(added.rowcount)

    def verify(self, change: Change, body: SdvVerified) -> None:
        if self._seen(change):
            return
        rows = [(i, f, change.username, change.at_utc) for i in body.instances for f in (body.fields or [""])]
        self.conn.exec_driver_sql(
            "INSERT INTO monitoring_sdv (instance_id, field_id, state, verified_by, verified_at_utc) VALUES (?, ?, 'verified', ?, ?) "
            "ON CONFLICT(instance_id, field_id) DO UPDATE SET state = 'verified', verified_by = excluded.verified_by, "
            "verified_at_utc = excluded.verified_at_utc, dropped_at_utc = NULL, dropped_by = NULL",
            rows,
        )

    def drop(self, change: Change, marks: list[tuple[str, str]]) -> None:
        """The server's word that verified data changed; a verification made here after it stands."""
        self.conn.exec_driver_sql(
            "UPDATE monitoring_sdv SET state = 'dropped', dropped_at_utc = ?, dropped_by = ? "
            "WHERE instance_id = ? AND field_id = ? AND state = 'verified' AND verified_at_utc <= ?",
            [(change.at_utc, change.username, i, f, change.at_utc) for i, f in marks],
        )

    def lock(self, change: Change, where: tuple[str, str, str]) -> None:
        if self._seen(change):
            return
        self.conn.exec_driver_sql(
            "INSERT OR IGNORE INTO monitoring_lock (subject_id, visit_id, form_id, locked_by, locked_at_utc) VALUES (?, ?, ?, ?, ?)",
            (*where, change.username, change.at_utc),
        )

    def unlock(self, change: Change, where: tuple[str, str, str]) -> list[str]:
        """Remove the lock and void every signature over what it covered; returns the voided signatures."""
        if self._seen(change):
            return []
        self.conn.exec_driver_sql(
            "DELETE FROM monitoring_lock WHERE subject_id = ? AND visit_id = ? AND form_id = ?", where
        )
        instances = covered_instances(self.conn, *where)
        if not instances:
            return []
        marks = ", ".join("?" * len(instances))
        signatures = [
            r[0]
            for r in self.conn.exec_driver_sql(
                f"SELECT DISTINCT s.id FROM signature s JOIN signature_item si ON si.signature_id = s.id "
                f"WHERE s.cleared_at_utc IS NULL AND si.instance_id IN ({marks})",
                tuple(instances),
            )
        ]
        if signatures:
            why = f"unlocked by {change.username}: {change.reason or ''}".strip()
            self.conn.exec_driver_sql(
                "UPDATE signature SET cleared_at_utc = ?, cleared_event_id = ?, cleared_reason = ? WHERE id = ?",
                [(change.at_utc, change.id, why, s) for s in signatures],
            )
            self.conn.exec_driver_sql(
                "UPDATE form_instance SET status = 'complete' WHERE status = 'signed' AND NOT EXISTS ("
                "SELECT 1 FROM signature_item o JOIN signature s ON s.id = o.signature_id "
                "WHERE o.instance_id = form_instance.id AND s.cleared_at_utc IS NULL)"
            )
        return signatures


def covered_instances(conn: Connection, subject_id: str, visit_id: str, form_id: str) -> list[str]:
    query = "SELECT i.id FROM form_instance i JOIN visit v ON v.id = i.visit_pk WHERE v.subject_id = ?"
    params: list[Any] = [subject_id]
    if visit_id:
        query += " AND v.visit_id = ?"
        params.append(visit_id)
    if form_id:
        query += " AND i.form_id = ?"
        params.append(form_id)
    return [r[0] for r in conn.exec_driver_sql(query, tuple(params))]


def lock_covering(
    conn: Connection, subject_id: str, visit_id: str | None, form_id: str | None
) -> tuple[Any, ...] | None:
    """The lock that covers a subject's form (or visit): the subject's, the visit's or the form's own."""
    return conn.exec_driver_sql(
        "SELECT subject_id, visit_id, form_id, locked_by, locked_at_utc FROM monitoring_lock WHERE subject_id = ? AND "
        "((visit_id = '' AND form_id = '') OR (visit_id = ? AND form_id = '') OR (visit_id = ? AND form_id = ?)) "
        "ORDER BY visit_id, form_id LIMIT 1",
        (subject_id, visit_id or "", visit_id or "", form_id or ""),
    ).first()


def describe_lock(number: str, row: tuple[Any, ...]) -> str:
    what = " / ".join(x for x in (number, row[1], row[2]) if x)
    return f"{what} is locked (by {row[3]} at {row[4][:16].replace('T', ' ')} UTC)"


def refuse_locked(conn: Connection, subject_id: str, visit_id: str, form_id: str) -> None:
    """The save path's check: a form under a lock this laptop knows of is not changed, offline too."""
    row = lock_covering(conn, subject_id, visit_id, form_id)
    if row is not None:
        number = conn.exec_driver_sql("SELECT number FROM subject WHERE id = ?", (subject_id,)).scalar() or subject_id
        raise StoreError(
            f"lock rule: {describe_lock(number, row)}: it cannot be changed until a data manager unlocks it with a reason"
        )


def after_change(conn: Connection, instance_id: str, fields: Iterable[str], at_utc: str, username: str) -> None:
    """A saved change of `fields`: their verification (and the form's) shows dropped, and closed
    queries over them are closed_modified; the server records the same when the change reaches it."""
    changed = sorted(set(fields))
    if not changed:
        return
    marks = ", ".join("?" * (len(changed) + 1))
    conn.exec_driver_sql(
        "UPDATE monitoring_sdv SET state = 'dropped', dropped_at_utc = ?, dropped_by = ? "
        f"WHERE instance_id = ? AND state = 'verified' AND field_id IN ({marks})",
        (at_utc, username, instance_id, "", *changed),
    )
    row = conn.exec_driver_sql(
        "SELECT v.subject_id, v.visit_id FROM form_instance i JOIN visit v ON v.id = i.visit_pk WHERE i.id = ?",
        (instance_id,),
    ).first()
    conn.exec_driver_sql(
        "UPDATE monitoring_query SET status = 'closed_modified', updated_at_utc = ? WHERE status = 'closed' AND ("
        f"(instance_id = ? AND (field_id IS NULL OR field_id IN ({marks}))) OR "
        "(scope = 'visit' AND subject_id = ? AND visit_id = ?))",
        (at_utc, instance_id, "", *changed, *(row or ("", ""))),
    )


def payload(**values: Any) -> str:
    return json.dumps({k: v for k, v in values.items() if v is not None}, ensure_ascii=False, sort_keys=True)
