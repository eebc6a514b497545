"""Field-level merge of one push: applied on the current version, merged when the value is the same,
applied when only this laptop's own earlier edits came between, otherwise a conflict that keeps every
value (`sync_conflict`, written by the server). A mixin of `BatchApplier`, whose state it reads:
`conn`, `fields`, `rows`, `next_seq` and `_log`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..core.queries import MONITORING_ACTIONS  # monitoring: events that name a field without changing it
from ..events.base import Outcome
from ..events.change import Change
from ..events.sync_conflict import MAX_BODY, MAX_CANDIDATES
from .models import Change as ChangeRow

SERVER_DEVICE = "server"


@dataclass
class FieldRow:
    value_json: str | None
    version: int
    device_id: str
    conflict_seq: int | None
    new: bool = False
    dirty: bool = False


class FieldMerge:
    conn: Any
    fields: dict[tuple[str, str], FieldRow]
    rows: list[dict[str, Any]]
    next_seq: int

    def _log(self, change: Change, digest: str, disposition: str, reason: str | None, body: str | None = None) -> int:
        raise AssertionError("provided by BatchApplier")

    def value_outcome(self, change: Change, instance: dict[str, Any], value: str | None) -> Outcome:
        key = (instance["id"], change.field_id or "")
        state = self.fields.get(key)
        set_it = Outcome("applied", None, lambda seq: self._set(key, value, seq, change.device_id))
        if state is not None and state.conflict_seq is not None:
            if change.action == "conflict_resolve" and (change.base_version or 0) >= state.conflict_seq:
                return set_it
            if state.value_json == value:
                return Outcome("merged", None, lambda seq: None)
            return Outcome(
                "conflict",
                "the field is in conflict: resolve it with a reason",
                lambda seq: self._conflict(change, key, seq),
            )
        if (
            state is None
            or state.version == change.base_version
            or (state.value_json is None and change.base_version is None)
        ):
            return set_it
        if state.value_json == value:
            return Outcome("merged", None, lambda seq: self._set(key, value, seq, change.device_id))
        if not self._changed_elsewhere(key, change.base_version, change.device_id):
            return set_it
        return Outcome(
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
            and r["action"] not in MONITORING_ACTIONS  # monitoring: a query or SDV names a field, changes no value
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
                ChangeRow.action.notin_(sorted(MONITORING_ACTIONS)),  # monitoring: queries change no value
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
        """Keep both values: the current one stays, the field is flagged, every laptop is told. Each
        competing value is held once; the record keeps the current value's author and the newest
        others, within `MAX_CANDIDATES` and `MAX_BODY`."""
        state = self.fields[key]
        if state.conflict_seq is not None:
            candidates = json.loads(self._author(state.conflict_seq)["new_json"])["candidates"]
        else:
            candidates = [_candidate(self._author(state.version), state.value_json, state.version)]
        value = None if change.action == "value_clear" else change.new_json
        candidates = [c for c in candidates if c["value_json"] != value] + [_candidate(change.model_dump(), value, seq)]
        body = _conflict_body(state.value_json, candidates)
        state.conflict_seq = self.log_server_event(  # type: ignore[attr-defined]  (BatchApplier's)
            "sync_conflict",
            subject_id=change.subject_id,
            visit_id=change.visit_id,
            form_id=change.form_id,
            instance_id=key[0],
            field_id=key[1],
            new_json=body,
            base_version=state.version,
        )
        state.dirty = True


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


def _conflict_body(current: str | None, candidates: list[dict[str, Any]]) -> str:
    """The first candidate (the value the field held) stays; the oldest of the others go first."""
    kept = candidates[:1] + candidates[1:][-(MAX_CANDIDATES - 1) :]
    body = json.dumps({"current": current, "candidates": kept}, sort_keys=True)
    while len(body) > MAX_BODY and len(kept) > 2:
        kept = kept[:1] + kept[2:]
        body = json.dumps({"current": current, "candidates": kept}, sort_keys=True)
    return body
