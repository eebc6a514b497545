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

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import AuditEvent, Device, Meta

GENESIS = "0" * 64
HEAD_KEY, COUNT_KEY = "audit_head", "audit_count"
HASHED = (
    "id device_id device_seq user_id username role at_utc utc_offset_min action subject_id visit_id form_id "
    "instance_id field_id old_json new_json reason confirmed_json base_version prev_hash"
).split()


def canonical(event: AuditEvent) -> bytes:
    return json.dumps({name: getattr(event, name) for name in HASHED}, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(event.prev_hash.encode("ascii") + canonical(event)).hexdigest()


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


def append(session: Session, device: Device, actor: Actor, action: str, **fields: Any) -> AuditEvent:
    """Add one event after the current head. Flushes; the unit of work commits."""
    head = _meta(session, HEAD_KEY)
    count = _meta(session, COUNT_KEY)
    at_utc, offset = fields.pop("at", None) or now_with_offset()
    event = AuditEvent(
        id=fields.pop("event_id", None) or str(uuid.uuid4()),
        device_id=device.id,
        device_seq=device.next_seq,
        user_id=actor.user_id,
        username=actor.username,
        role=actor.role,
        at_utc=at_utc,
        utc_offset_min=offset,
        action=action,
        prev_hash=head.value if head else GENESIS,
        **{k: fields.get(k) for k in ("subject_id", "visit_id", "form_id", "instance_id", "field_id", "old_json", "new_json", "reason", "confirmed_json", "base_version")},
    )
    event.hash = event_hash(event)
    device.next_seq += 1
    session.add(event)
    if head is None:
        session.add(Meta(key=HEAD_KEY, value=event.hash))
        session.add(Meta(key=COUNT_KEY, value="1"))
    else:
        head.value = event.hash
        assert count is not None
        count.value = str(int(count.value) + 1)
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
