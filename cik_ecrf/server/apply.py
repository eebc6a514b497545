"""Applying one pushed batch in one transaction: idempotence, field-level merge, conflicts, refusals.

Each change names the server version of the field it was based on. Based on the current version:
applied. Same value as the current one: merged. Based on an older version, but every change since
then came from the same laptop (its own offline edits, one after another): applied. Otherwise both
values are kept and the field is put in conflict on every laptop by a server `sync_conflict` event;
only a `conflict_resolve` change (audited, with a reason) that saw that event closes it. Client
clocks never decide anything. A signed or locked form refuses edits from any laptop, except a signed
one whose signature the editing laptop cleared first (`signature_cleared`: it knew, and said why). The batch is read in a few bulk queries and written in a few
executemany statements: a push of thousands of changes stays a handful of round trips.
"""

from __future__ import annotations

import functools
import json
import operator
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from ..core.roles import ENTRY_ROLES
from ..sync.protocol import Change, ChangeResult
from .database import now
from .models import Change as ChangeRow
from .models import FieldState, Instance, SeqCounter, Subject, User

SERVER_DEVICE = "server"
VALUE_ACTIONS = frozenset({"value_set", "value_clear", "conflict_resolve"})
ENTRY_ACTIONS = frozenset(
    {
        "subject_add",
        "form_create",
        "value_set",
        "value_clear",
        "status_change",
        "warnings_confirmed",
        "conflict_resolve",
        "signature_cleared",
    }
)
FROZEN_STATUSES = frozenset({"signed", "locked"})
CHUNK = 500


@dataclass
class FieldRow:
    value_json: str | None
    version: int
    device_id: str
    conflict_seq: int | None
    new: bool = False
    dirty: bool = False


class Refused(Exception):
    """A change that cannot be applied; it is logged as rejected and the batch goes on."""


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class BatchApplier:
    """One push transaction for one device of one site."""

    def __init__(self, conn: Connection, site_code: str, device_id: str, changes: Sequence[Change]) -> None:
        self.conn = conn
        self.site = site_code
        self.device_id = device_id
        self.changes = changes
        counter = conn.execute(select(SeqCounter.next_seq).where(SeqCounter.id == 1).with_for_update()).scalar_one()
        self.next_seq = int(counter)
        self.rows: list[dict[str, Any]] = []
        self.received_at = now()
        self.users = {
            u.username: u
            for u in conn.execute(select(User.username, User.role, User.site_code).where(User.site_code == site_code))
        }
        self.existing: dict[str, tuple[str, int]] = {}
        for part in _chunks([c.id for c in changes]):
            for cid, digest, seq in conn.execute(
                select(ChangeRow.id, ChangeRow.digest, ChangeRow.seq).where(ChangeRow.id.in_(part))
            ):
                self.existing[cid] = (digest, seq)
        instance_ids = sorted({c.instance_id for c in changes if c.instance_id})
        self.instances: dict[str, dict[str, Any]] = {}
        self.fields: dict[tuple[str, str], FieldRow] = {}
        for part in _chunks(instance_ids):
            for row in conn.execute(select(Instance).where(Instance.id.in_(part))).mappings():
                self.instances[row["id"]] = dict(row)
            for row in conn.execute(select(FieldState).where(FieldState.instance_id.in_(part))).mappings():
                self.fields[(row["instance_id"], row["field_id"])] = FieldRow(
                    row["value_json"], row["version"], row["device_id"], row["conflict_seq"]
                )
        subject_ids = sorted(
            {c.subject_id for c in changes if c.subject_id} | {i["subject_id"] for i in self.instances.values()}
        )
        self.subjects: dict[str, dict[str, Any]] = {}
        for part in _chunks(subject_ids):
            for row in conn.execute(select(Subject).where(Subject.id.in_(part))).mappings():
                self.subjects[row["id"]] = dict(row)
        self.new_subjects: list[dict[str, Any]] = []
        numbers = sorted({n for c in changes if c.action == "subject_add" and (n := _text(c.new_json))})
        self.numbers: set[str] = set()  # subject numbers taken, among those this batch adds
        for part in _chunks(numbers):
            self.numbers |= set(conn.execute(select(Subject.number).where(Subject.number.in_(part))).scalars())
        self.new_instances: list[dict[str, Any]] = []
        self.status_updates: dict[str, str] = {}
        self.refused_edits: set[str] = set()  # instances whose edit was refused in this batch (signed or locked)

    # ------------------------------------------------------------------ the batch

    def run(self) -> list[ChangeResult]:
        results = []
        seen: dict[str, tuple[str, int]] = {}
        for change in self.changes:
            body = change.model_dump_json()
            digest = change.digest(body)
            known = self.existing.get(change.id) or seen.get(change.id)
            if known is not None:
                if known[0] == digest:
                    results.append(ChangeResult(id=change.id, disposition="duplicate", server_seq=known[1]))
                else:
                    results.append(
                        ChangeResult(
                            id=change.id,
                            disposition="rejected",
                            reason="this change id was already used for a different change",
                        )
                    )
                continue
            if change.device_id != self.device_id:
                results.append(
                    ChangeResult(
                        id=change.id,
                        disposition="rejected",
                        reason="a change of another device: each laptop pushes only its own changes",
                    )
                )
                continue
            try:
                disposition, reason, after = self._apply(change)
            except Refused as exc:
                disposition, reason, after = "rejected", str(exc), None
            seq = self._log(change, digest, disposition, reason, body=body)
            seen[change.id] = (digest, seq)
            if after is not None:
                after(seq)
            results.append(
                ChangeResult.model_construct(id=change.id, disposition=disposition, reason=reason, server_seq=seq)
            )  # internal values: not validated again
        self._write()
        return results

    def _log(self, change: Change, digest: str, disposition: str, reason: str | None, body: str | None = None) -> int:
        seq = self.next_seq
        self.next_seq += 1
        self.rows.append(
            {
                "seq": seq,
                "id": change.id,
                "digest": digest,
                "site_code": self.site,
                "device_id": change.device_id,
                "device_seq": change.device_seq,
                "action": change.action,
                "instance_id": change.instance_id,
                "field_id": change.field_id,
                "disposition": disposition,
                "reason": reason,
                "body": body or change.model_dump_json(),
                "received_at": self.received_at,
            }
        )
        return seq

    # ------------------------------------------------------------------ one change

    def _apply(self, change: Change) -> tuple[str, str | None, Any]:
        if change.action not in ENTRY_ACTIONS:
            return "applied", None, None  # logins, user changes...: kept in the central trail, no state
        user = self.users.get(change.username)
        if user is None:
            raise Refused(f"{change.username} is not a user of site {self.site} on the server")
        if user.role not in ENTRY_ROLES:
            raise Refused(f"a {user.role} cannot enter data")
        if change.action == "subject_add":
            return self._subject_add(change)
        instance = self._instance(change)
        if change.action == "form_create":
            if instance is not None:  # the same non-repeating form started on two laptops: one instance
                status = (json.loads(change.new_json).get("status") if change.new_json else None) or instance["status"]
                if status != instance["status"] and instance["status"] not in FROZEN_STATUSES:
                    self.status_updates[instance["id"]] = instance["status"] = status
                return "merged", None, None
            return self._form_create(change)
        if instance is None:
            raise Refused(f"form instance {change.instance_id} is unknown on the server")
        if change.action == "signature_cleared":  # the laptop knew the form was signed and cleared it to change it
            if instance["status"] == "signed":
                self.status_updates[instance["id"]] = instance["status"] = "complete"
            return "applied", None, None
        if change.action == "status_change":
            if instance["id"] in self.refused_edits or instance["status"] == "locked":
                raise Refused(
                    f"{instance['form_id']} at {instance['visit_id']} is {instance['status']}: its status cannot change with this edit"
                )
            self.status_updates[instance["id"]] = instance["status"] = _text(change.new_json) or instance["status"]
            return "applied", None, None
        if instance["status"] in FROZEN_STATUSES:
            self.refused_edits.add(instance["id"])
            raise Refused(
                f"{instance['form_id']} at {instance['visit_id']} is {instance['status']}: it cannot be changed"
            )
        if change.action == "warnings_confirmed":
            return "applied", None, None
        return self._value(change, instance)

    def _subject(self, subject_id: str | None) -> dict[str, Any] | None:
        subject = self.subjects.get(subject_id or "")
        if subject is not None and subject["site_code"] != self.site:
            raise Refused(f"subject {subject['number']} belongs to another site")
        return subject

    def _subject_add(self, change: Change) -> tuple[str, str | None, Any]:
        number = _text(change.new_json)
        if not change.subject_id or not number:
            raise Refused("subject_add without a subject id and number")
        if self._subject(change.subject_id) is not None:
            return "merged", None, None
        if number in self.numbers:
            raise Refused(f"subject number {number} is already taken by another subject")
        self.numbers.add(number)
        row = {"id": change.subject_id, "number": number, "site_code": self.site}
        self.subjects[change.subject_id] = row
        self.new_subjects.append(row)
        return "applied", None, None

    def _instance(self, change: Change) -> dict[str, Any] | None:
        instance = self.instances.get(change.instance_id or "")
        if instance is not None and instance["site_code"] != self.site:
            raise Refused("this form belongs to another site")
        return instance

    def _form_create(self, change: Change) -> tuple[str, str | None, Any]:
        if not (change.instance_id and change.visit_id and change.form_id):
            raise Refused("form_create without instance, visit and form")
        study = _study()
        if (
            change.form_id not in study.forms
            or change.visit_id not in study.visit_ids()
            or change.form_id not in study.forms_at(change.visit_id)
        ):
            raise Refused(f"form {change.form_id} is not collected at visit {change.visit_id} in this study")
        if self._subject(change.subject_id) is None:
            raise Refused(f"subject {change.subject_id} is unknown on the server")
        status = (json.loads(change.new_json).get("status") if change.new_json else None) or "draft"
        row = {
            "id": change.instance_id,
            "subject_id": change.subject_id,
            "visit_id": change.visit_id,
            "form_id": change.form_id,
            "status": status,
            "site_code": self.site,
        }
        self.instances[change.instance_id] = row
        self.new_instances.append(row)
        return "applied", None, None

    def _value(self, change: Change, instance: dict[str, Any]) -> tuple[str, str | None, Any]:
        form = _study().forms.get(instance["form_id"])
        if not change.field_id or form is None or change.field_id not in form.fields:
            raise Refused(f"{change.action}: form {instance['form_id']} has no field {change.field_id}")
        key = (instance["id"], change.field_id)
        state = self.fields.get(key)
        value = None if change.action == "value_clear" else change.new_json
        if state is not None and state.conflict_seq is not None:
            if change.action == "conflict_resolve" and (change.base_version or 0) >= state.conflict_seq:
                return "applied", None, lambda seq: self._set(key, value, seq, change.device_id)
            if state.value_json == value:
                return "merged", None, lambda seq: None
            return (
                "conflict",
                "the field is in conflict: resolve it with a reason",
                lambda seq: self._conflict(change, key, seq),
            )
        if (
            state is None
            or state.version == change.base_version
            or (state.value_json is None and change.base_version is None)
        ):
            return "applied", None, lambda seq: self._set(key, value, seq, change.device_id)
        if state.value_json == value:
            return "merged", None, lambda seq: self._set(key, value, seq, change.device_id)
        if not self._changed_elsewhere(key, change.base_version, change.device_id):
            return "applied", None, lambda seq: self._set(key, value, seq, change.device_id)
        return (
            "conflict",
            "the field was changed on another laptop since this change's base: both values are kept",
            lambda seq: self._conflict(change, key, seq),
        )

    def _changed_elsewhere(self, key: tuple[str, str], base: int | None, device_id: str) -> bool:
        """Did another laptop change the field since `base`? (Own earlier edits are not a conflict.)"""
        if any(
            r["instance_id"] == key[0]
            and r["field_id"] == key[1]
            and r["device_id"] != device_id
            and r["disposition"] == "applied"
            and r["seq"] > (base or 0)
            for r in self.rows
        ):
            return True
        query = (
            select(ChangeRow.seq)
            .where(
                ChangeRow.instance_id == key[0],
                ChangeRow.field_id == key[1],
                ChangeRow.seq > (base or 0),
                ChangeRow.device_id != device_id,
                ChangeRow.disposition == "applied",
            )
            .limit(1)
        )
        return self.conn.execute(query).first() is not None

    def _set(self, key: tuple[str, str], value: str | None, seq: int, device_id: str) -> None:
        state = self.fields.get(key)
        if state is None:
            self.fields[key] = FieldRow(value, seq, device_id, None, new=True, dirty=True)
        else:
            state.value_json, state.version, state.device_id, state.conflict_seq, state.dirty = (
                value,
                seq,
                device_id,
                None,
                True,
            )

    def _author(self, seq: int) -> dict[str, Any]:
        for row in self.rows:
            if row["seq"] == seq:
                return json.loads(row["body"])
        body = self.conn.execute(select(ChangeRow.body).where(ChangeRow.seq == seq)).scalar()
        return json.loads(body) if body else {}

    def _conflict(self, change: Change, key: tuple[str, str], seq: int) -> None:
        """Keep both values: the current one stays, the field is flagged, every laptop is told."""
        state = self.fields[key]
        if state.conflict_seq is not None:
            candidates = json.loads(self._author(state.conflict_seq)["new_json"])["candidates"]
        else:
            author = self._author(state.version)
            candidates = [_candidate(author, state.value_json, state.version)]
        candidates.append(
            _candidate(change.model_dump(), None if change.action == "value_clear" else change.new_json, seq)
        )
        event = Change(
            id=str(uuid.uuid4()),
            device_id=SERVER_DEVICE,
            device_seq=self.next_seq,
            username="server",
            at_utc=now(),
            utc_offset_min=0,
            action="sync_conflict",
            subject_id=change.subject_id,
            visit_id=change.visit_id,
            form_id=change.form_id,
            instance_id=key[0],
            field_id=key[1],
            new_json=json.dumps({"current": state.value_json, "candidates": candidates}, sort_keys=True),
            base_version=state.version,
        )
        state.conflict_seq = self._log(event, event.digest(), "applied", None)
        state.dirty = True

    # ------------------------------------------------------------------ writing

    def _write(self) -> None:
        conn = self.conn
        if self.new_subjects:
            conn.execute(insert(Subject), self.new_subjects)
        if self.new_instances:
            conn.execute(insert(Instance), self.new_instances)
        if self.status_updates:
            conn.execute(
                update(Instance).where(Instance.id == bindparam("b_id")),
                [{"b_id": k, "status": v} for k, v in self.status_updates.items()],
            )
        new = [
            {
                "instance_id": k[0],
                "field_id": k[1],
                "value_json": s.value_json,
                "version": s.version,
                "device_id": s.device_id,
                "conflict_seq": s.conflict_seq,
            }
            for k, s in self.fields.items()
            if s.new
        ]
        changed = [
            {
                "b_instance": k[0],
                "b_field": k[1],
                "value_json": s.value_json,
                "version": s.version,
                "device_id": s.device_id,
                "conflict_seq": s.conflict_seq,
            }
            for k, s in self.fields.items()
            if s.dirty and not s.new
        ]
        if self.rows:
            _bulk_insert(conn, "change", self.rows)
        if new:
            _bulk_insert(conn, "field_state", new)
        if changed:
            statement = update(FieldState).where(
                FieldState.instance_id == bindparam("b_instance"), FieldState.field_id == bindparam("b_field")
            )
            conn.execute(statement, changed)
        conn.execute(update(SeqCounter).where(SeqCounter.id == 1).values(next_seq=self.next_seq))


def _bulk_insert(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """One executemany at the driver level: the ORM's per-row parameter processing was a third of a push."""
    columns = list(rows[0])
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(statement, list(map(operator.itemgetter(*columns), rows)))


@functools.cache
def _study() -> Any:
    """The shipped study: the server checks that forms, visits and fields exist (the laptops check values)."""
    from ..definitions.loader import load_study

    return load_study()


def _text(new_json: str | None) -> str | None:
    value = json.loads(new_json) if new_json else None
    return value if isinstance(value, str) else None


def _candidate(event: dict[str, Any], value_json: str | None, seq: int) -> dict[str, Any]:
    return {
        "value_json": value_json,
        "seq": seq,
        "username": event.get("username"),
        "device_id": event.get("device_id"),
        "at_utc": event.get("at_utc"),
        "utc_offset_min": event.get("utc_offset_min"),
        "change_id": event.get("id"),
    }
