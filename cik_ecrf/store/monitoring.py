"""Monitoring on the laptop, as the CLI and the desktop client use it (`store.monitoring`): data queries
and their threads, source-data verification and its progress, locks. Each write is one user action,
one transaction and one audited event (synced like data); the rules are `cik_ecrf.core.queries`.

Read API (frozen dataclasses; the worklist reads one indexed table, 5,000 queries in a few ms):
`queries(...)`, `queries_for_instance(id)`, `query(id)`, `thread(id)`, `query_counts()`,
`sdv_state(instance)`, `sdv_progress(subject)`, `lock_of(subject, visit, form)`, `locks(subject)`,
`refusal(transition, query_id)`. Writes: `open_query`, `mark_for_review`, `answer_query`,
`close_query`, `reopen_query`, `verify`, `lock`, `unlock`, `import_queries`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from ..core.queries import QUERY_STATUSES, refusal
from ..events.change import CHANGE_FIELDS, Change
from . import monitoring_sql
from .errors import StoreError
from .monitoring_rows import LockInfo, QueryMessage, QueryRow, SdvProgress, SdvState, VisitProgress
from .monitoring_tables import MonitoringLock, MonitoringMessage, MonitoringQuery, MonitoringSdv  # noqa: F401

if TYPE_CHECKING:
    from .api import Store


_QUERY_COLUMNS = (
    "q.id, q.subject_id, s.number, q.visit_id, q.form_id, q.instance_id, q.field_id, q.scope, q.kind, q.status, "
    "q.text, q.opened_by, q.opened_at_utc, q.updated_at_utc, q.messages, "
    "max(0, CAST(julianday('now') - julianday(substr(q.opened_at_utc, 1, 19)) AS INTEGER))"
)
_QUERY_FIELDS = tuple(f.name for f in dataclasses.fields(QueryRow))


def _rows(rows: Any) -> list[QueryRow]:
    """Rows as QueryRows without the frozen dataclass's per-field __init__ (a third of a 5,000-query
    list's time): each instance gets its attribute dict at once; equality, repr and asdict are unchanged."""
    out = []
    for row in rows:
        item = object.__new__(QueryRow)
        item.__dict__.update(zip(_QUERY_FIELDS, row, strict=True))
        out.append(item)
    return out


class Monitoring:
    """`store.monitoring`: the logged-in user's monitoring actions on this laptop."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ reading

    def queries(
        self,
        subject: str | None = None,
        status: str | Collection[str] | None = None,
        form_id: str | None = None,
        older_than_days: int | None = None,
        visit_id: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[QueryRow]:
        """The site's queries (this laptop's copy), oldest first, filtered as a worklist filters; `limit`
        and `offset` page through them (unfiltered, a page walks the opened-at index and stops early)."""
        with self.store.unit_of_work() as session:
            conn = session.connection()
            where, params = _filters(conn, subject, status, form_id, older_than_days, visit_id, kind)
            page = ""
            if limit is not None:
                page = " LIMIT ? OFFSET ?"
                params += [max(0, int(limit)), max(0, int(offset))]
            rows = conn.exec_driver_sql(
                f"SELECT {_QUERY_COLUMNS} FROM monitoring_query q JOIN subject s ON s.id = q.subject_id "
                f"WHERE {where} ORDER BY q.opened_at_utc, q.id{page}",
                tuple(params),
            ).all()
        return _rows(rows)

    def count_queries(
        self,
        subject: str | None = None,
        status: str | Collection[str] | None = None,
        form_id: str | None = None,
        older_than_days: int | None = None,
        visit_id: str | None = None,
        kind: str | None = None,
    ) -> int:
        """How many queries `queries()` would list with the same filters (for paging)."""
        with self.store.unit_of_work() as session:
            conn = session.connection()
            where, params = _filters(conn, subject, status, form_id, older_than_days, visit_id, kind)
            return int(
                conn.exec_driver_sql(f"SELECT count(*) FROM monitoring_query q WHERE {where}", tuple(params)).scalar()
            )

    def queries_for_instance(self, instance_id: str) -> list[QueryRow]:
        """Every query on one form (its field and form queries), for the badges on its fields."""
        with self.store.unit_of_work() as session:
            rows = (
                session.connection()
                .exec_driver_sql(
                    f"SELECT {_QUERY_COLUMNS} FROM monitoring_query q JOIN subject s ON s.id = q.subject_id "
                    "WHERE q.instance_id = ? ORDER BY q.opened_at_utc, q.id",
                    (instance_id,),
                )
                .all()
            )
        return _rows(rows)

    def query(self, query_id: str) -> QueryRow:
        with self.store.unit_of_work() as session:
            row = (
                session.connection()
                .exec_driver_sql(
                    f"SELECT {_QUERY_COLUMNS} FROM monitoring_query q JOIN subject s ON s.id = q.subject_id WHERE q.id = ?",
                    (query_id,),
                )
                .first()
            )
        if row is None:
            raise StoreError(f"no query {query_id} on this laptop")
        return _rows([row])[0]

    def thread(self, query_id: str) -> list[QueryMessage]:
        with self.store.unit_of_work() as session:
            rows = (
                session.connection()
                .exec_driver_sql(
                    "SELECT event_id, query_id, position, transition, username, role, at_utc, utc_offset_min, text, "
                    "status_after, correction FROM monitoring_message WHERE query_id = ? ORDER BY position",
                    (query_id,),
                )
                .all()
            )
        return [QueryMessage(*r[:10], bool(r[10])) for r in rows]

    def query_counts(self) -> dict[str, dict[str, int]]:
        """Per subject number: how many queries in each status (the per-site list)."""
        with self.store.unit_of_work() as session:
            rows = session.connection().exec_driver_sql(
                "SELECT s.number, q.status, count(*) FROM monitoring_query q JOIN subject s ON s.id = q.subject_id "
                "GROUP BY s.number, q.status"
            )
            out: dict[str, dict[str, int]] = {}
            for number, status, count in rows:
                out.setdefault(number, {})[status] = int(count)
        return out

    def query_counts_by_visit(self, subject: str | None = None) -> dict[tuple[str, str], dict[str, int]]:
        """Per (subject number, visit): how many queries in each status (the schedule grid's cells)."""
        with self.store.unit_of_work() as session:
            conn = session.connection()
            where, params = ("q.subject_id = ?", (_subject_id(conn, subject),)) if subject else ("1 = 1", ())
            out: dict[tuple[str, str], dict[str, int]] = {}
            for number, visit, status, count in conn.exec_driver_sql(
                "SELECT s.number, q.visit_id, q.status, count(*) FROM monitoring_query q JOIN subject s ON s.id = q.subject_id "
                f"WHERE {where} GROUP BY s.number, q.visit_id, q.status",
                params,
            ):
                out.setdefault((number, visit), {})[status] = int(count)
        return out

    def sdv_state(self, instance_id: str) -> SdvState:
        with self.store.unit_of_work() as session:
            rows = (
                session.connection()
                .exec_driver_sql(
                    "SELECT field_id, state, verified_by, verified_at_utc FROM monitoring_sdv WHERE instance_id = ?",
                    (instance_id,),
                )
                .all()
            )
        form = next((r for r in rows if r[0] == ""), None)
        return SdvState(
            instance_id,
            form[1] if form else "none",
            {r[0]: r[1] for r in rows if r[0]},
            form[2] if form else None,
            form[3] if form else None,
        )

    def sdv_progress(self, subject: str) -> SdvProgress:
        """Per visit: forms entered, verified (whole form, or every entered field) and dropped."""
        with self.store.unit_of_work() as session:
            conn = session.connection()
            subject_id = _subject_id(conn, subject)
            number = conn.exec_driver_sql("SELECT number FROM subject WHERE id = ?", (subject_id,)).scalar()
            forms = conn.exec_driver_sql(
                "SELECT i.id, v.visit_id FROM form_instance i JOIN visit v ON v.id = i.visit_pk WHERE v.subject_id = ? "
                "ORDER BY v.visit_id",
                (subject_id,),
            ).all()
            ids = tuple(r[0] for r in forms)
            marks: dict[str, dict[str, str]] = {}
            entered: dict[str, set[str]] = {}
            if ids:
                holes = ", ".join("?" * len(ids))
                for instance, field, state in conn.exec_driver_sql(
                    f"SELECT instance_id, field_id, state FROM monitoring_sdv WHERE instance_id IN ({holes})", ids
                ):
                    marks.setdefault(instance, {})[field] = state
                for instance, field in conn.exec_driver_sql(
                    f"SELECT instance_id, field_id FROM field_value WHERE instance_id IN ({holes})", ids
                ):
                    entered.setdefault(instance, set()).add(field)
        visits: dict[str, list[int]] = {}
        for instance, visit in forms:
            counts = visits.setdefault(visit, [0, 0, 0])
            own = marks.get(instance, {})
            counts[0] += 1
            fields = entered.get(instance, set())
            if own.get("") == "verified" or (fields and all(own.get(f) == "verified" for f in fields)):
                counts[1] += 1
            elif "dropped" in own.values():
                counts[2] += 1
        return SdvProgress(number, tuple(VisitProgress(v, *c) for v, c in visits.items()))

    def lock_of(self, subject: str, visit_id: str | None = None, form_id: str | None = None) -> LockInfo | None:
        """The lock that covers a subject, a visit or a form (the widest first), or None."""
        with self.store.unit_of_work() as session:
            conn = session.connection()
            subject_id = _subject_id(conn, subject)
            if form_id is None:
                row = conn.exec_driver_sql(
                    "SELECT subject_id, visit_id, form_id, locked_by, locked_at_utc FROM monitoring_lock WHERE subject_id = ? "
                    "AND form_id = '' AND visit_id IN ('', ?) ORDER BY visit_id LIMIT 1",
                    (subject_id, visit_id or ""),
                ).first()
            else:
                row = monitoring_sql.lock_covering(conn, subject_id, visit_id, form_id)
            number = conn.exec_driver_sql("SELECT number FROM subject WHERE id = ?", (subject_id,)).scalar()
        return None if row is None else LockInfo(row[0], number, row[1] or None, row[2] or None, row[3], row[4])

    def locks(self, subject: str | None = None) -> list[LockInfo]:
        with self.store.unit_of_work() as session:
            conn = session.connection()
            query = (
                "SELECT l.subject_id, s.number, l.visit_id, l.form_id, l.locked_by, l.locked_at_utc FROM monitoring_lock l "
                "JOIN subject s ON s.id = l.subject_id"
            )
            params: tuple[str, ...] = ()
            if subject is not None:
                query += " WHERE l.subject_id = ?"
                params = (_subject_id(conn, subject),)
            rows = conn.exec_driver_sql(query + " ORDER BY s.number, l.visit_id, l.form_id", params).all()
        return [LockInfo(r[0], r[1], r[2] or None, r[3] or None, r[4], r[5]) for r in rows]

    def refusal(self, transition: str, query_id: str | None = None) -> str | None:
        """Why the logged-in user may not make `transition` (on that query); None: allowed. For enabling buttons."""
        if query_id is None:
            return refusal(transition, None, self.store.actor.role, self.store.actor.username, None)
        query = self.query(query_id)
        return refusal(transition, query.status, self.store.actor.role, self.store.actor.username, query.opened_by)

    # ------------------------------------------------------------------ writing (monitoring_write.py)

    def open_query(
        self,
        subject: str,
        visit: str,
        form: str | None = None,
        field: str | None = None,
        *,
        text: str,
        kind: str = "manual",
        instance: str | None = None,
    ) -> str:
        """Raise a query on a field, a form or a visit; returns its id."""
        from .monitoring_write import open_queries

        return open_queries(self.store, [(subject, visit, form, field, text, instance)], kind)[0]

    def mark_for_review(self, subject: str, visit: str, form: str, field: str, text: str) -> str:
        """An investigator marks a (confirmed) warning for the monitor's review: a query of kind review."""
        return self.open_query(subject, visit, form, field, text=text, kind="review")

    def review_warnings(self, subject: str, visit: str, form: str, text: str, field: str | None = None) -> list[str]:
        """An investigator marks the form's confirmed warnings (or one field's) for review: one query per field."""
        from .monitoring_write import review_warnings

        return review_warnings(self.store, subject, visit, form, field, text)

    def answer_query(self, query_id: str, text: str, correction: dict[str, Any] | None = None) -> None:
        """Answer with an explanation, or with a correction: the values are saved first (the text is
        the change's reason), then the answer; one transaction."""
        from .monitoring_write import step

        step(self.store, query_id, "answer", text, correction)

    def close_query(self, query_id: str, text: str | None = None) -> None:
        from .monitoring_write import step

        step(self.store, query_id, "close", text)

    def reopen_query(self, query_id: str, reason: str) -> None:
        from .monitoring_write import step

        step(self.store, query_id, "reopen", reason)

    def verify(self, subject: str, visit: str, form: str | None = None, fields: Collection[str] = ()) -> int:
        """Mark source data verified: fields of a form, a form, or every form of a visit; returns forms marked."""
        from .monitoring_write import verify

        return verify(self.store, subject, visit, form, tuple(fields))

    def lock(self, subject: str, visit: str | None = None, form: str | None = None) -> None:
        from .monitoring_write import lock

        lock(self.store, subject, visit, form, None)

    def unlock(self, subject: str, visit: str | None = None, form: str | None = None, *, reason: str) -> list[str]:
        """Unlock with a reason; returns the signatures voided on this laptop (the server and every other laptop void theirs as the unlock reaches them)."""
        from .monitoring_write import lock

        return lock(self.store, subject, visit, form, reason)

    def import_queries(self, path: Any) -> list[str]:
        """Open queries from a CSV (subject, visit, form, field, text): all, or none with every error as file:line."""
        from .monitoring_write import import_csv

        return import_csv(self.store, path)


def _filters(
    conn: Any,
    subject: str | None,
    status: str | Collection[str] | None,
    form_id: str | None,
    older_than_days: int | None,
    visit_id: str | None,
    kind: str | None,
) -> tuple[str, list[Any]]:
    """The WHERE clause of a worklist's filters, with its parameters."""
    where, params = ["1 = 1"], []
    if status is not None:
        wanted = [status] if isinstance(status, str) else sorted(status)
        unknown = [s for s in wanted if s not in QUERY_STATUSES]
        if unknown:
            raise StoreError(f"status {unknown[0]!r}: one of {', '.join(QUERY_STATUSES)}")
        where.append(f"q.status IN ({', '.join('?' * len(wanted))})")
        params += wanted
    for column, value in (("form_id", form_id), ("visit_id", visit_id), ("kind", kind)):
        if value is not None:
            where.append(f"q.{column} = ?")
            params.append(value)
    if older_than_days is not None:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than_days)
        where.append("q.opened_at_utc < ?")
        params.append(cutoff.isoformat())
    if subject is not None:
        where.append("q.subject_id = ?")
        params.append(_subject_id(conn, subject))
    return " AND ".join(where), params


def _subject_id(conn: Any, ref: str) -> str:
    found = conn.exec_driver_sql("SELECT id FROM subject WHERE number = ? OR id = ?", (ref, ref)).scalar()
    if found is None:
        raise StoreError(f"no subject {ref!r} in this store")
    return str(found)


def as_change(row: dict[str, Any]) -> Change:
    """An event the chain just wrote, as the Change the event types read."""
    return Change(**{k: row[k] for k in CHANGE_FIELDS})
