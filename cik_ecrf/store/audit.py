"""The hash-chained audit trail: append in the caller's transaction, verify from the first row.

Each event's hash is SHA-256 over the previous hash and the event's canonical encoding (sorted-key
JSON of every column but `seq` and `hash`). Editing a row breaks its own hash; deleting or reordering
rows breaks the next row's link; truncating the tail is caught against the head kept in `meta`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core import fast_json
from ..events.registry import LAPTOP_ACTIONS
from . import authorship
from .errors import StoreError
from .models import AuditEvent, Device, Meta

GENESIS = "0" * 64
HEAD_KEY, COUNT_KEY = "audit_head", "audit_count"
HASHED = (
    "id device_id device_seq user_id username role at_utc utc_offset_min action subject_id visit_id form_id "
    "instance_id field_id old_json new_json reason confirmed_json base_version prev_hash"
).split()


#: json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":")), its encoder made once
_dumps = fast_json.dumps((",", ":"), sort_keys=True)


def _hashed(event: AuditEvent | dict[str, Any]) -> dict[str, Any]:
    row = event if isinstance(event, dict) else {name: getattr(event, name) for name in HASHED}
    return {name: row[name] for name in HASHED}


def canonical(event: AuditEvent | dict[str, Any]) -> bytes:
    """The event's hashed fields as sorted, compact JSON: what every trail's hashes were made over."""
    return _dumps(_hashed(event)).encode("utf-8")


def hash_of(fields: dict[str, Any]) -> str:
    """`event_hash` of a dict holding exactly the HASHED fields (a pulled page's thousands of events)."""
    return hashlib.sha256(fields["prev_hash"].encode("ascii") + _dumps(fields).encode("utf-8")).hexdigest()


def event_hash(event: AuditEvent | dict[str, Any]) -> str:
    return hash_of(_hashed(event))


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    username: str
    role: str | None


def now_with_offset() -> tuple[str, int]:
    local = dt.datetime.now().astimezone()
    offset = local.utcoffset() or dt.timedelta()
    utc = local.astimezone(dt.UTC)
    return utc.isoformat(timespec="microseconds"), int(offset.total_seconds() // 60)


def _meta(session: Session, key: str) -> Meta | None:
    return session.get(Meta, key)


_CONTEXT = (
    "subject_id",
    "visit_id",
    "form_id",
    "instance_id",
    "field_id",
    "old_json",
    "new_json",
    "reason",
    "confirmed_json",
    "base_version",
)
_COLUMNS = (*HASHED, "hash")
#: what the sync protocol carries at most (`events.change.Change`): refused at the save, never a stuck outbox
_SENDABLE = (("old_json", 100_000), ("new_json", 100_000), ("reason", 10_000), ("confirmed_json", 10_000))
_INSERT = f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


class Chain:
    """The trail's head held for one unit of work, so that its events chain without re-reading it.

    Events are collected as rows; `close()` writes them in one executemany INSERT with the new head,
    count and device sequence, on the unit of work's connection (BEGIN IMMEDIATE keeps other writers
    out until it commits).
    """

    def __init__(self, session: Session) -> None:
        session.flush()  # what the ORM holds (a new device, a new user) reaches the database first
        self.session = session
        self.conn = session.connection()
        meta = dict(
            self.conn.exec_driver_sql(
                "SELECT key, value FROM meta WHERE key IN (?, ?, ?, ?)",
                (HEAD_KEY, COUNT_KEY, "device_id", authorship.DEVICE_HEAD),
            ).all()
        )
        self.device_head = meta.get(authorship.DEVICE_HEAD)
        self.device_id = meta["device_id"]
        self.next_seq = int(
            self.conn.exec_driver_sql("SELECT next_seq FROM device WHERE id = ?", (self.device_id,)).scalar_one()
        )
        self.started = HEAD_KEY in meta
        self.previous = meta.get(HEAD_KEY, GENESIS)
        self.length = int(meta.get(COUNT_KEY, 0))
        self.rows: list[dict[str, Any]] = []
        self.at = now_with_offset()  # one user action, one moment: every event of it carries the same time

    def append(self, actor: Actor, action: str, **fields: Any) -> dict[str, Any]:
        if action not in LAPTOP_ACTIONS:  # a bug, not a user's mistake: every event type is declared in events/
            raise ValueError(f"{action!r} is not an event type a laptop writes (cik_ecrf/events/registry.py)")
        at_utc, offset = fields.pop("at", None) or self.at
        row: dict[str, Any] = {
            "id": fields.pop("event_id", None) or str(uuid.uuid4()),
            "device_id": self.device_id,
            "device_seq": self.next_seq,
            "user_id": actor.user_id,
            "username": actor.username,
            "role": actor.role,
            "at_utc": at_utc,
            "utc_offset_min": offset,
            "action": action,
            "prev_hash": self.previous,
            **{k: fields.get(k) for k in _CONTEXT},
        }
        for name, limit in _SENDABLE:
            value = row[name]
            if value is not None and len(value) > limit:
                where = row["field_id"] or name
                raise StoreError(f"{where}: too long to keep and send ({len(value):,} characters; at most {limit:,})")
        row["hash"] = event_hash(row)
        self.next_seq += 1
        self.previous = row["hash"]
        self.length += 1
        self.rows.append(row)
        return row  # written by close()

    def close(self) -> None:
        if not self.rows:
            return
        self.conn.exec_driver_sql(_INSERT, [tuple(r[c] for c in _COLUMNS) for r in self.rows])
        # one signature of the logged-in user over this save's events and the device chain before them
        signer = self.session.info.get("signer")
        device_head = authorship.seal(self.conn, self.device_id, self.device_head or GENESIS, self.rows, signer)
        self.rows = []
        pairs = [(self.previous, HEAD_KEY), (str(self.length), COUNT_KEY)]
        folded = self.started and self.device_head is not None  # one UPDATE for heads and count
        if folded:
            pairs.append((device_head, authorship.DEVICE_HEAD))
        if self.started:
            self.conn.exec_driver_sql("UPDATE meta SET value = ? WHERE key = ?", pairs)
        else:
            self.conn.exec_driver_sql("INSERT INTO meta (value, key) VALUES (?, ?)", pairs)
            self.started = True
        if not folded:  # the first seal of this store
            self.conn.exec_driver_sql(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (authorship.DEVICE_HEAD, device_head),
            )
        self.device_head = device_head
        self.conn.exec_driver_sql("UPDATE device SET next_seq = ? WHERE id = ?", (self.next_seq, self.device_id))
        for obj in list(self.session.identity_map.values()):  # the ORM's copies of these rows are stale now
            if isinstance(obj, (Meta, Device)):
                self.session.expire(obj)


def append(session: Session, actor: Actor, action: str, **fields: Any) -> dict[str, Any]:
    """One event on its own (logins, user changes), in the caller's unit of work."""
    chain = Chain(session)
    event = chain.append(actor, action, **fields)
    chain.close()
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
            return ChainCheck(
                False,
                count,
                f"event #{event.seq} ({event.action}, {event.at_utc}) does not follow the event before it: a row was deleted, inserted or reordered",
                event.seq,
            )
        if event_hash(event) != event.hash:
            return ChainCheck(
                False,
                count,
                f"event #{event.seq} ({event.action}, {event.at_utc}) was altered after it was written",
                event.seq,
            )
        previous = event.hash
    head = _meta(session, HEAD_KEY)
    stored_count = _meta(session, COUNT_KEY)
    if (head.value if head else GENESIS) != previous or int(stored_count.value if stored_count else 0) != count:
        return ChainCheck(
            False,
            count,
            f"the trail ends after {count} events but {stored_count.value if stored_count else 0} were written: events were removed from the end",
        )
    return ChainCheck(True, count)
