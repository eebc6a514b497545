"""The server's monitoring state during one push: the `MonitoringServer` the query, SDV and lock events
act on, the lock gate every edit passes, and what the server itself records after a change:

- a value change of verified data drops the verification (`sdv_dropped`);
- a value change under a closed query makes it closed_modified (`query_server`, "modified");
- a sync conflict opens a query on the field, once while one is active; its resolution answers it.

Read lazily and in bulk (the batch's instances and subjects at the first need: a push that touches
no monitored data costs three small queries), written with the batch in `write()`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from ...core.queries import ACTIVE_STATUSES, LOCKED_ACTIONS, TRANSITIONS, VALUE_CHANGES
from ...events.base import Refused
from ...events.change import Change
from ...events.monitoring import SdvDropped, ServerQueryStep
from ..models import Change as ChangeRow
from ..models import Instance
from .tables import MonitoringLock, MonitoringQuery, MonitoringSdv

CHUNK = 500
SERVER_DEVICE = "server"
CONFLICT_TEXT = (
    "Sync conflict: this field holds competing values entered on different laptops; resolve it with a reason. / "
    "同步冲突：此字段在不同笔记本上录入了不同的值；请注明理由后解决。"
)
_QUERY_COLUMNS = [c.name for c in MonitoringQuery.__table__.columns]


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class ServerMonitoring:
    def __init__(self, applier: Any) -> None:
        self.a = applier
        self.queries: dict[str, dict[str, Any]] = {}
        self.by_instance: dict[str, list[str]] = {}  # instance -> its field and form queries
        self.by_visit: dict[tuple[str, str], list[str]] = {}  # (subject, visit) -> its visit queries
        self.sdv: dict[tuple[str, str], dict[str, Any]] = {}
        self.locks: dict[str, set[tuple[str, str]]] = {}  # subject -> (visit, form) locked
        self.loaded_instances: set[str] = set()
        self.ready = False
        self.new_queries: list[dict[str, Any]] = []
        self.query_updates: dict[str, dict[str, Any]] = {}
        self.new_locks: list[dict[str, Any]] = []
        self.removed_locks: list[tuple[str, str, str]] = []

    # ------------------------------------------------------------------ loading

    def _prepare(self) -> None:
        """At the first need: everything the batch names (its instances and subjects), in a few queries."""
        if self.ready:
            return
        self.ready = True
        subjects = {c.subject_id for c in self.a.changes if c.subject_id}
        subjects |= {i["subject_id"] for i in self.a.instances.values()}
        self._load(sorted(self.a.preloaded), sorted(subjects))

    def _load(self, instances: list[str], subjects: list[str]) -> None:
        conn = self.a.conn
        instances = [i for i in instances if i not in self.loaded_instances]
        subjects = [s for s in subjects if s not in self.locks]
        self.loaded_instances |= set(instances)
        for part in _chunks(instances):
            for row in conn.execute(select(MonitoringQuery).where(MonitoringQuery.instance_id.in_(part))).mappings():
                self._remember(dict(row))
            for row in conn.execute(select(MonitoringSdv).where(MonitoringSdv.instance_id.in_(part))).mappings():
                self.sdv[(row["instance_id"], row["field_id"])] = {**dict(row), "_new": False, "_dirty": False}
        for subject in subjects:
            self.locks[subject] = set()
        for part in _chunks(subjects):
            for row in conn.execute(
                select(MonitoringQuery).where(MonitoringQuery.subject_id.in_(part), MonitoringQuery.scope == "visit")
            ).mappings():
                self._remember(dict(row))
            for subject, visit, form in conn.execute(
                select(MonitoringLock.subject_id, MonitoringLock.visit_id, MonitoringLock.form_id).where(
                    MonitoringLock.subject_id.in_(part)
                )
            ):
                self.locks[subject].add((visit, form))

    def _load_instances(self, instance_id: str) -> None:
        self._prepare()
        instance = self.a.instances.get(instance_id)
        self._load([instance_id], [instance["subject_id"]] if instance else [])

    def _load_locks(self, subjects: list[str]) -> None:
        self._prepare()
        self._load([], subjects)

    def _remember(self, row: dict[str, Any]) -> None:
        if row["id"] in self.queries:
            return
        self.queries[row["id"]] = row
        if row["instance_id"]:
            self.by_instance.setdefault(row["instance_id"], []).append(row["id"])
        else:
            self.by_visit.setdefault((row["subject_id"], row["visit_id"]), []).append(row["id"])

    # ------------------------------------------------------------------ MonitoringServer

    def query(self, query_id: str) -> dict[str, Any] | None:
        if query_id not in self.queries:
            row = (
                self.a.conn.execute(
                    select(MonitoringQuery).where(
                        MonitoringQuery.id == query_id, MonitoringQuery.site_code == self.a.site
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            self._remember(dict(row))
        query = self.queries[query_id]
        return query if query["site_code"] == self.a.site else None

    def add_query(self, row: dict[str, Any]) -> None:
        if row.get("instance_id"):
            self._load_instances(row["instance_id"])
        full = {**row, "site_code": self.a.site, "opened_seq": self.a.next_seq, "updated_seq": self.a.next_seq}
        self._remember(full)
        self.new_queries.append(full)

    def set_query_status(self, query_id: str, status: str) -> None:
        query = self.queries[query_id]
        query["status"], query["updated_seq"] = status, self.a.next_seq
        if not any(q is query for q in self.new_queries):
            self.query_updates[query_id] = query

    def value_changed_since(self, instance_id: str, field_id: str | None, seq: int) -> bool:
        def matches(row: dict[str, Any]) -> bool:
            return (
                row["instance_id"] == instance_id
                and (field_id is None or row["field_id"] == field_id)
                and row["action"] in VALUE_CHANGES
                and row["disposition"] in ("applied", "merged", "conflict")
                and row["seq"] > seq
            )

        if any(matches(r) for r in self.a.rows):
            return True
        query = select(ChangeRow.seq).where(
            ChangeRow.instance_id == instance_id,
            ChangeRow.action.in_(sorted(VALUE_CHANGES)),
            ChangeRow.disposition.in_(("applied", "merged", "conflict")),
            ChangeRow.seq > seq,
        )
        if field_id is not None:
            query = query.where(ChangeRow.field_id == field_id)
        return self.a.conn.execute(query.limit(1)).first() is not None

    def add_sdv(self, instance_id: str, field_ids: list[str], username: str) -> None:
        self._load_instances(instance_id)
        for field_id in field_ids:
            mark = self.sdv.get((instance_id, field_id))
            values = {"verified_by": username, "verified_seq": self.a.next_seq, "dropped_seq": None}
            if mark is None:
                self.sdv[(instance_id, field_id)] = {
                    "instance_id": instance_id,
                    "field_id": field_id,
                    **values,
                    "_new": True,
                    "_dirty": True,
                }
            else:
                mark.update(values, _dirty=True)

    def lock_at(self, subject_id: str, visit_id: str, form_id: str) -> bool:
        self._load_locks([subject_id])
        return (visit_id, form_id) in self.locks[subject_id]

    def add_lock(self, subject_id: str, visit_id: str, form_id: str, username: str) -> None:
        self._load_locks([subject_id])
        self.locks[subject_id].add((visit_id, form_id))
        self.new_locks.append(
            {
                "subject_id": subject_id,
                "visit_id": visit_id,
                "form_id": form_id,
                "site_code": self.a.site,
                "locked_by": username,
                "locked_seq": self.a.next_seq,
            }
        )

    def remove_lock(self, subject_id: str, visit_id: str, form_id: str) -> list[str]:
        """Unlock; returns the form instances the lock covered (their signatures are voided)."""
        self.locks[subject_id].discard((visit_id, form_id))
        key = (subject_id, visit_id, form_id)
        kept = [r for r in self.new_locks if (r["subject_id"], r["visit_id"], r["form_id"]) != key]
        if len(kept) == len(self.new_locks):
            self.removed_locks.append(key)
        self.new_locks = kept
        query = select(Instance.id).where(Instance.subject_id == subject_id)
        if visit_id:
            query = query.where(Instance.visit_id == visit_id)
        if form_id:
            query = query.where(Instance.form_id == form_id)
        covered = set(self.a.conn.execute(query).scalars())
        covered |= {
            i["id"]
            for i in self.a.new_instances
            if i["subject_id"] == subject_id
            and (not visit_id or i["visit_id"] == visit_id)
            and (not form_id or i["form_id"] == form_id)
        }
        return sorted(covered)

    # ------------------------------------------------------------------ the gate and the server's own moves

    def refuse_locked(self, change: Change) -> None:
        """Every edit of locked data is refused, from every device, whatever the laptop believes."""
        if change.action not in LOCKED_ACTIONS or (change.action == "status_change" and change.new_json == '"signed"'):
            return  # signing locked data is allowed (REDCap signs locked forms): it changes no value
        instance = self.a.instances.get(change.instance_id or "")
        subject, visit, form = (
            (instance["subject_id"], instance["visit_id"], instance["form_id"])
            if instance is not None
            else (change.subject_id, change.visit_id, change.form_id)
        )
        if not subject:
            return
        self._load_locks([subject])
        locked = self.locks[subject]
        for key, what in (
            (("", ""), "the subject"),
            ((visit or "", ""), f"visit {visit}"),
            ((visit or "", form or ""), f"{form} at {visit}"),
        ):
            if key in locked:
                raise Refused(
                    f"lock rule: {what} is locked by the data manager: {change.action} refused until it is unlocked"
                )

    def after(self, change: Change, disposition: str, seq: int) -> None:
        """What the server records itself once a value change has its place in the log."""
        if change.action not in VALUE_CHANGES or not change.instance_id or disposition not in ("applied", "conflict"):
            return
        instance = self.a.instances.get(change.instance_id)
        if instance is None:
            return
        self._load_instances(change.instance_id)
        field = change.field_id or ""
        if disposition == "conflict":
            if not any(
                self.queries[q]["kind"] == "conflict"
                and self.queries[q]["field_id"] == field
                and self.queries[q]["status"] in ACTIVE_STATUSES
                for q in self.by_instance.get(change.instance_id, [])
            ):
                self._open_conflict_query(instance, field, seq)
            return
        dropped = []
        for key in ((change.instance_id, field), (change.instance_id, "")):
            mark = self.sdv.get(key)
            if mark is not None and mark["dropped_seq"] is None:
                mark.update(dropped_seq=self.a.next_seq, _dirty=True)
                dropped.append(key)
        if dropped:
            body = SdvDropped(marks=dropped, cause=change.id)
            self._log("sdv_dropped", instance, field, body.model_dump_json())
        related = self.by_instance.get(change.instance_id, []) + self.by_visit.get(
            (instance["subject_id"], instance["visit_id"]), []
        )
        for query_id in related:
            query = self.queries[query_id]
            if query["field_id"] not in (None, field):
                continue
            if query["status"] == "closed":
                self._server_step(query, instance, "modified", f"{field} changed by {change.username}", change.id)
            elif (
                change.action == "conflict_resolve"
                and query["kind"] == "conflict"
                and query["status"] in ACTIVE_STATUSES
            ):
                text = f"resolved by {change.username} to {change.new_json or 'no value'}: {change.reason or ''}"
                self._server_step(query, instance, "conflict_resolved", text[:4000], change.id)

    def _open_conflict_query(self, instance: dict[str, Any], field: str, cause_seq: int) -> None:
        query_id = str(uuid.uuid4())
        body = ServerQueryStep(query=query_id, transition="conflict_open", text=CONFLICT_TEXT, scope="field")
        self.add_query(
            {
                "id": query_id,
                "subject_id": instance["subject_id"],
                "visit_id": instance["visit_id"],
                "form_id": instance["form_id"],
                "instance_id": instance["id"],
                "field_id": field,
                "scope": "field",
                "kind": "conflict",
                "status": "open",
                "opened_by": SERVER_DEVICE,
            }
        )
        self._log("query_server", instance, field, body.model_dump_json())

    def _server_step(
        self, query: dict[str, Any], instance: dict[str, Any], transition: str, text: str, cause: str
    ) -> None:
        self.set_query_status(query["id"], TRANSITIONS[transition].target)
        body = ServerQueryStep(query=query["id"], transition=transition, text=text, cause=cause)  # type: ignore[arg-type]
        self._log("query_server", instance, query["field_id"], body.model_dump_json())

    def _log(self, action: str, instance: dict[str, Any], field: str | None, body: str) -> int:
        return self.a.log_server_event(
            action,
            subject_id=instance["subject_id"],
            visit_id=instance["visit_id"],
            form_id=instance["form_id"],
            instance_id=instance["id"],
            field_id=field or None,
            new_json=body,
        )

    # ------------------------------------------------------------------ writing

    def write(self) -> None:
        conn = self.a.conn
        for subject_id, visit_id, form_id in self.removed_locks:
            conn.execute(
                delete(MonitoringLock).where(
                    MonitoringLock.subject_id == subject_id,
                    MonitoringLock.visit_id == visit_id,
                    MonitoringLock.form_id == form_id,
                )
            )
        if self.new_locks:
            conn.execute(insert(MonitoringLock), self.new_locks)
        if self.new_queries:
            conn.execute(insert(MonitoringQuery), [{c: q.get(c) for c in _QUERY_COLUMNS} for q in self.new_queries])
        if self.query_updates:
            conn.execute(
                update(MonitoringQuery).where(MonitoringQuery.id == bindparam("b_id")),
                [
                    {"b_id": k, "status": q["status"], "updated_seq": q["updated_seq"]}
                    for k, q in self.query_updates.items()
                ],
            )
        columns = ("instance_id", "field_id", "verified_by", "verified_seq", "dropped_seq")
        new = [{c: m[c] for c in columns} for m in self.sdv.values() if m["_new"]]
        dirty = [
            {"b_i": m["instance_id"], "b_f": m["field_id"], **{c: m[c] for c in columns[2:]}}
            for m in self.sdv.values()
            if m["_dirty"] and not m["_new"]
        ]
        if new:
            conn.execute(insert(MonitoringSdv), new)
        if dirty:
            conn.execute(
                update(MonitoringSdv).where(
                    MonitoringSdv.instance_id == bindparam("b_i"), MonitoringSdv.field_id == bindparam("b_f")
                ),
                dirty,
            )
