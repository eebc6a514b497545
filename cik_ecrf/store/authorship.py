"""Provable authorship on the laptop: users' public keys, the seal each save signs, and their checks.

Every unit of work that writes events ends with one *seal* (`Chain.close`): the logged-in user's
Ed25519 signature over the device chain before the save and after it (`core.keys`). The server
checks seals against its own keys and refuses what no valid seal of its author covers; `audit
verify` checks them here against the site's public keys, and, online, against the server's keys and
its anchor of this device's chain. Electronic signatures carry a signature of their own over the
content hash (`signature_proof`), checked the same ways.

Anyone who signs in on this laptop holds the store key and can rewrite this file; what they cannot
do is sign as someone else. So the checks here are only as good as the public keys stored here: a
forger who replaced them is caught online (keys and anchor from the server) and by the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Connection, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core import keys
from ..events import registry
from ..events.change import CHANGE_FIELDS
from .errors import AuthError
from .models import Base

DEVICE_HEAD = "device_head"
SEALED_FROM = "sealed_from"  # the first device_seq written with per-user keys (events before: legacy)


class UserKeyRow(Base):
    """Every public key of the site's users this laptop has heard of (from the server, or made here)."""

    __tablename__ = "user_key"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    sign_public: Mapped[str] = mapped_column(String(64))
    box_public: Mapped[str] = mapped_column(String(64))
    current: Mapped[bool] = mapped_column(Boolean)


class AuditSeal(Base):
    """One save's seal over this device's events `first_seq`..`last_seq` (unsigned: no key was open)."""

    __tablename__ = "audit_seal"
    first_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    previous: Mapped[str] = mapped_column(String(64))
    head: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)


class SignatureProof(Base):
    """An electronic signature's Ed25519 signature over its content hash (`keys.esign_message`)."""

    __tablename__ = "signature_proof"
    signature_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Signer:
    """The logged-in user's unlocked keys, for one session (held in memory only)."""

    keys: keys.UserKeys
    key_id: str

    @classmethod
    def of(cls, unlocked: keys.UserKeys) -> Signer:
        return cls(unlocked, unlocked.public.key_id)

    @property
    def username(self) -> str:
        return self.keys.username


def needs_author(action: str) -> bool:
    """Events the server checks against the signer's name (data, roles); the rest any site user attests."""
    event = registry.event(action)
    return event is None or event.roles is not None or event.data


# ---------------------------------------------------------------- writing


_SEAL_INSERT = "INSERT INTO audit_seal (first_seq, last_seq, username, key_id, previous, head, signature) VALUES (?, ?, ?, ?, ?, ?, ?)"


def seal(
    conn: Connection, device_id: str, previous: str, rows: Sequence[Mapping[str, Any]], signer: Signer | None
) -> str:
    """Seal this save's events (in runs of at most `SEAL_LIMIT`); returns the device chain's new head."""
    made = []
    for start in range(0, len(rows), keys.SEAL_LIMIT):
        run = rows[start : start + keys.SEAL_LIMIT]
        head = keys.chain(previous, run)
        first, last = run[0]["device_seq"], run[-1]["device_seq"]
        if signer is None:
            made.append((first, last, None, None, previous, head, None))
        else:
            signature = signer.keys.sign(keys.seal_message(device_id, first, last, previous, head))
            made.append((first, last, signer.username, signer.key_id, previous, head, signature))
        previous = head
    conn.exec_driver_sql(_SEAL_INSERT, made)
    return previous


def record_keys(conn: Connection, username: str, history: Iterable[Mapping[str, str]], current: str | None) -> None:
    """The user's public keys as the server (or this laptop, for its own users) knows them."""
    for key in history:
        conn.exec_driver_sql(
            "INSERT INTO user_key (key_id, username, sign_public, box_public, current) VALUES (?, ?, ?, ?, 0) "
            "ON CONFLICT (key_id) DO NOTHING",
            (key["key_id"], username, key["sign"], key["box"]),
        )
    conn.exec_driver_sql("UPDATE user_key SET current = (key_id = ?) WHERE username = ?", (current or "", username))


def record_own_key(conn: Connection, unlocked: keys.UserKeys) -> None:
    """A user's keys as this laptop made them."""
    public = unlocked.public
    record_keys(
        conn, unlocked.username, [{"key_id": public.key_id, "sign": public.sign, "box": public.box}], public.key_id
    )


def record_central_keys(conn: Connection, users: Sequence[Mapping[str, Any]]) -> None:
    """Users' public keys as the server sent them (`/users`): its word, not this laptop's, for central users."""
    for user in users:
        current = user.get("keys")
        history = list(user.get("key_history") or [])
        if current:
            history.append(current)
        if history or not user.get("active", True):
            record_keys(conn, user["username"], history, current["key_id"] if current else None)


def adopt_signer(conn: Connection, unlocked: keys.UserKeys | None, writable: bool) -> Signer | None:
    """The signer for this session, once its key is known here as the user's. A user with no key on
    record yet (made before per-user keys) gets this one recorded; a key the store knows as someone
    else's, or a user whose known keys do not include it, means keyring.json was edited: refused."""
    if unlocked is None:
        return None
    signer = Signer.of(unlocked)
    owner = conn.exec_driver_sql("SELECT username FROM user_key WHERE key_id = ?", (signer.key_id,)).scalar()
    if owner is None:
        if conn.exec_driver_sql("SELECT 1 FROM user_key WHERE username = ?", (signer.username,)).first() is not None:
            raise AuthError(f"keyring.json: the entry of {signer.username} holds a key that is not theirs")
        if writable:
            record_own_key(conn, unlocked)
    elif owner != signer.username:
        raise AuthError(f"keyring.json: the entry of {signer.username} holds {owner}'s key")
    return signer


def current_key(conn: Connection, username: str) -> str | None:
    return conn.exec_driver_sql("SELECT key_id FROM user_key WHERE username = ? AND current", (username,)).scalar()


def prove_signature(
    conn: Connection,
    signer: Signer,
    signature_id: str,
    scope: str,
    subject_id: str,
    meaning: str,
    digest: str,
    instances: Sequence[str],
) -> dict[str, str]:
    """The cryptographic signature of an electronic signature; kept here and sent in its event."""
    sig = signer.keys.sign(keys.esign_message(signature_id, scope, subject_id, meaning, digest, instances))
    conn.exec_driver_sql(
        "INSERT INTO signature_proof (signature_id, key_id, signature) VALUES (?, ?, ?)",
        (signature_id, signer.key_id, sig),
    )
    return {"key_id": signer.key_id, "sig": sig}


# ---------------------------------------------------------------- pushing


def whole_seals(conn: Connection, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The outbox batch made of whole seals (the server checks a seal against all of its changes): cut
    before a seal that runs past its end, or, when one seal alone is longer than the batch, extended to
    that seal's end; one that starts inside a seal (sent before) gets that seal's earlier changes too."""
    if not events:
        return events
    first, last = events[0]["device_seq"], events[-1]["device_seq"]
    start = conn.exec_driver_sql(
        "SELECT first_seq FROM audit_seal WHERE first_seq <= ? AND last_seq >= ?", (first, first)
    ).scalar()
    if start is not None and start < first:
        events = _own_events(conn, start, first - 1) + events
    end = conn.exec_driver_sql(
        "SELECT first_seq, last_seq FROM audit_seal WHERE first_seq <= ? AND last_seq >= ?", (last, last)
    ).first()
    if end is None or end[1] == last:
        return events
    if end[0] > events[0]["device_seq"]:
        return [e for e in events if e["device_seq"] < end[0]]
    return events + _own_events(conn, last + 1, end[1])


def _own_events(conn: Connection, first: int, last: int) -> list[dict[str, Any]]:
    device = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'device_id'").scalar()
    rows = conn.exec_driver_sql(
        f"SELECT {', '.join(CHANGE_FIELDS)} FROM audit_event WHERE device_id = ? AND device_seq BETWEEN ? AND ? "
        "ORDER BY device_seq",
        (device, first, last),
    ).all()
    return [dict(zip(CHANGE_FIELDS, row, strict=True)) for row in rows]


def seals_for(conn: Connection, events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The signed seals covering these events, as the protocol carries them."""
    if not events:
        return []
    first, last = events[0]["device_seq"], events[-1]["device_seq"]
    rows = conn.exec_driver_sql(
        "SELECT first_seq, last_seq, username, key_id, previous, head, signature FROM audit_seal "
        "WHERE last_seq >= ? AND first_seq <= ? AND signature IS NOT NULL ORDER BY first_seq",
        (first, last),
    ).all()
    return [
        {
            "first": r[0],
            "last": r[1],
            "username": r[2],
            "key_id": r[3],
            "previous": r[4],
            "head": r[5],
            "signature": r[6],
        }
        for r in rows
    ]


# the checks live in authorship_verify.py (imported here so callers keep one module to name)
from .authorship_verify import Check, forgeries, local_keys, proof_problem, replay_problems, verify  # noqa: E402

__all__ = ["Check", "forgeries", "local_keys", "proof_problem", "replay_problems", "verify"]
