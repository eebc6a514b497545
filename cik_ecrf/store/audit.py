"""The hash-chained audit trail: append in the caller's transaction, verify from the first row.

Each event's hash is SHA-256 over the previous hash and the event's canonical encoding (sorted-key
JSON of every column but `seq` and `hash`). Editing a row breaks its own hash; deleting or reordering
rows breaks the next row's link; truncating the tail is caught against the head kept in `meta`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .models import AuditEvent, Device, Meta

GENESIS = "0" * 64
HEAD_KEY, COUNT_KEY = "audit_head", "audit_count"
HASHED = (
    "id device_id device_seq user_id username role at_utc utc_offset_min action subject_id visit_id form_id "
    "instance_id field_id old_json new_json reason confirmed_json base_version prev_hash"
).split()


def canonical(event: AuditEvent | dict[str, Any]) -> bytes:
    row = event if isinstance(event, dict) else {name: getattr(event, name) for name in HASHED}
    return json.dumps({name: row[name] for name in HASHED}, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def event_hash(event: AuditEvent | dict[str, Any]) -> str:
    prev = event["prev_hash"] if isinstance(event, dict) else event.prev_hash
    return hashlib.sha256(prev.encode("ascii") + canonical(event)).hexdigest()


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    username: str
    role: str | None


def now_with_offset() -> tuple[str, int]:
    local = dt.datetime.now().astimezone()
    offset = local.utcoffset() or dt.timedelta()
    utc = local.astimezone(dt.timezone.utc)
    return utc.isoformat(timespec="microseconds"), int(offset.total_seconds() // 60)


def _meta(session: Session, key: str) -> Meta | None:
    return session.get(Meta, key)


class Chain:
    """The trail's head held for one unit of work, so that a save's events chain without re-reading it.

    Events are collected as rows and written by `close()` in one executemany INSERT, with the new head
    and count; the unit of work commits it all in one transaction (BEGIN IMMEDIATE keeps other writers
    out meanwhile).
    """

    def __init__(self, session: Session, device: Device) -> None:
        self.session = session
        self.device = device
        self.head = _meta(session, HEAD_KEY)
        self.count = _meta(session, COUNT_KEY)
        self.previous = self.head.value if self.head else GENESIS
        self.length = int(self.count.value) if self.count else 0
        self.rows: list[dict[str, Any]] = []

    def append(self, actor: Actor, action: str, **fields: Any) -> dict[str, Any]:
        at_utc, offset = fields.pop("at", None) or now_with_offset()
        row: dict[str, Any] = {
            "id": fields.pop("event_id", None) or str(uuid.uuid4()),
            "device_id": self.device.id,
            "device_seq": self.device.next_seq,
            "user_id": actor.user_id,
            "username": actor.username,
            "role": actor.role,
            "at_utc": at_utc,
            "utc_offset_min": offset,
            "action": action,
            "prev_hash": self.previous,
            **{k: fields.get(k) for k in _CONTEXT},
        }
        row["hash"] = event_hash(row)
        self.device.next_seq += 1
        self.previous = row["hash"]
        self.length += 1
        self.rows.append(row)
        return row  # written by close()

    def close(self) -> None:
        if self.rows:
            self.session.execute(insert(AuditEvent), self.rows)
            self.rows = []
        if self.head is None:
            self.head = Meta(key=HEAD_KEY, value=self.previous)
            self.count = Meta(key=COUNT_KEY, value=str(self.length))
            self.session.add_all([self.head, self.count])
        else:
            assert self.count is not None
            self.head.value, self.count.value = self.previous, str(self.length)


_CONTEXT = ("subject_id", "visit_id", "form_id", "instance_id", "field_id", "old_json", "new_json", "reason", "confirmed_json", "base_version")


def append(session: Session, device: Device, actor: Actor, action: str, **fields: Any) -> dict[str, Any]:
    """One event on its own (logins, user changes). Flushes; the unit of work commits."""
    chain = Chain(session, device)
    event = chain.append(actor, action, **fields)
    chain.close()
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    problem: str | None = None  # the first broken link, in words
    seq: int | None = None


def verify(session: Session) -> ChainCheck:
    previous = GENESIS
    count = 0
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
        count += 1
        if event.prev_hash != previous:
            return ChainCheck(False, count, f"event #{event.seq} ({event.action}, {event.at_utc}) does not follow the event before it: a row was deleted, inserted or reordered", event.seq)
        if event_hash(event) != event.hash:
            return ChainCheck(False, count, f"event #{event.seq} ({event.action}, {event.at_utc}) was altered after it was written", event.seq)
        previous = event.hash
    head = _meta(session, HEAD_KEY)
    stored_count = _meta(session, COUNT_KEY)
    if (head.value if head else GENESIS) != previous or int(stored_count.value if stored_count else 0) != count:
        return ChainCheck(False, count, f"the trail ends after {count} events but {stored_count.value if stored_count else 0} were written: events were removed from the end")
    return ChainCheck(True, count)
