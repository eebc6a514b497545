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

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    #: the seal this session wrote last (first, last, previous, head): the next save extends it
    last: dict[str, Any] = field(default_factory=dict, compare=False)

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
    conn: Connection,
    device_id: str,
    previous: str,
    rows: Sequence[Mapping[str, Any]],
    signer: Signer | None,
    pushed: int = 0,
) -> str:
    """Seal this save's events (in runs of at most `SEAL_LIMIT`); returns the device chain's new head.

    The session's next save *extends* its last seal, signing it again over the longer run, when
    nothing was written or pushed in between (the chain's head is still the one it signed): the
    server then checks one signature per session's run of saves instead of one per save."""
    made = []
    for start in range(0, len(rows), keys.SEAL_LIMIT):
        run = rows[start : start + keys.SEAL_LIMIT]
        head = keys.chain(previous, run)
        first, last = run[0]["device_seq"], run[-1]["device_seq"]
        if signer is None:
            made.append((first, last, None, None, previous, head, None))
        else:
            mine = signer.last
            extend = (
                mine
                and mine["head"] == previous
                and mine["last"] + 1 == first
                and mine["first"] > pushed
                and last - mine["first"] < keys.SEAL_LIMIT
            )
            if extend:
                message = keys.seal_message(device_id, mine["first"], last, mine["previous"], head)
                extend = conn.exec_driver_sql(
                    "UPDATE audit_seal SET last_seq = ?, head = ?, signature = ? WHERE first_seq = ? AND head = ?",
                    (last, head, signer.keys.sign(message), mine["first"], previous),
                ).rowcount
            if extend:
                mine.update(last=last, head=head)
            else:
                signature = signer.keys.sign(keys.seal_message(device_id, first, last, previous, head))
                made.append((first, last, signer.username, signer.key_id, previous, head, signature))
                mine.clear()
                mine.update(first=first, last=last, previous=previous, head=head)
        previous = head
    if made:
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


# ---------------------------------------------------------------- checking (`audit verify`)


@dataclass(frozen=True)
class Check:
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    head: str
    device_seq: int


def verify(
    conn: Connection,
    device_id: str,
    server_keys: Mapping[str, tuple[str, str]] | None = None,
    anchor: tuple[int, str | None] | None = None,
    server_users: Mapping[str, tuple[str, bool]] | None = None,
) -> Check:
    """Seals, authors, electronic signatures and stored values against the trail. `server_keys`
    (key id -> (user, Ed25519 public)) and `anchor` (device_seq, head) come from the server when online."""
    problems: list[str] = []
    notes: list[str] = []
    local = {r[0]: (r[1], r[2]) for r in conn.exec_driver_sql("SELECT key_id, username, sign_public FROM user_key")}
    known = server_keys if server_keys is not None else local
    if server_keys is not None:
        central = set(server_users or ()) | {user for user, _ in server_keys.values()}
        for kid, (user, public) in local.items():
            if (kid in server_keys and server_keys[kid] != (user, public)) or (
                kid not in server_keys and user in central
            ):
                problems.append(
                    f"the key {kid} recorded here as {user}'s is not theirs on the server: the user table was edited"
                )
    for name, role, active in conn.exec_driver_sql('SELECT username, role, active FROM "user"'):
        theirs = (server_users or {}).get(name)
        if theirs is not None and (theirs[0] != role or bool(theirs[1]) != bool(active)):
            problems.append(
                f"user {name} is a {role}{'' if active else ' (inactive)'} here but a {theirs[0]}"
                f"{'' if theirs[1] else ' (inactive)'} on the server: the user table was edited"
            )
    sealed_from = int(conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (SEALED_FROM,)).scalar() or 1)
    events = conn.exec_driver_sql(
        f"SELECT {', '.join(CHANGE_FIELDS)} FROM audit_event WHERE device_id = ? ORDER BY device_seq", (device_id,)
    ).all()
    by_seq = {row[2]: dict(zip(CHANGE_FIELDS, row, strict=True)) for row in events}
    seals = conn.exec_driver_sql(
        "SELECT first_seq, last_seq, username, key_id, previous, head, signature FROM audit_seal ORDER BY first_seq"
    ).all()
    head, covered, heads = keys.GENESIS, 0, {0: keys.GENESIS}
    for first, last, username, kid, previous, sealed_head, signature in seals:
        run = [by_seq.get(seq) for seq in range(first, last + 1)]
        where = f"changes {first}–{last}"
        if first != covered + 1 and covered:
            problems.append(f"{where}: the seals skip or repeat changes after {covered}")
        if previous != head:
            problems.append(f"{where}: the seal does not follow the one before it (history rewritten)")
        if any(e is None for e in run):
            problems.append(f"{where}: changes a seal covers are missing from the trail")
            break
        head = previous
        for event in run:
            assert event is not None
            heads[event["device_seq"]] = head = keys.chain_step(head, event)
        covered = last
        if head != sealed_head:
            problems.append(f"{where}: changed after they were sealed")
            head = sealed_head
        if signature is None:
            if first >= sealed_from:
                problems.append(f"{where}: not signed by anyone")
            continue
        key = known.get(kid or "")
        if key is None or key[0] != username:
            problems.append(
                f"{where}: signed with a key that is not {username}'s"
                + (" on the server" if server_keys is not None else "")
            )
            continue
        if not keys.verify(key[1], keys.seal_message(device_id, first, last, previous, sealed_head), signature):
            problems.append(f"{where}: the signature of {username} does not match them")
            continue
        others = sorted({e["username"] for e in run if e and needs_author(e["action"]) and e["username"] != username})
        if others:
            problems.append(f"{where}: made in the name of {', '.join(others)} but signed by {username}")
    unsealed = [seq for seq in by_seq if seq > covered]
    if unsealed:
        problems.append(f"changes {min(unsealed)}–{max(unsealed)} of this laptop are not sealed")
    if sealed_from > 1:
        notes.append(f"changes 1–{sealed_from - 1} were written before per-user keys (not signed)")
    if anchor is not None and anchor[1] is not None:
        ours = heads.get(anchor[0])
        if ours != anchor[1]:
            problems.append(
                f"this laptop's history up to change {anchor[0]} differs from what the server received: it was rewritten"
            )
    problems += _signature_problems(conn, known, server_keys is not None, sealed_from, device_id)
    problems += replay_problems(conn)
    return Check(tuple(problems), tuple(notes), head, covered)


def _signature_problems(
    conn: Connection, known: Mapping[str, tuple[str, str]], online: bool, sealed_from: int, device_id: str
) -> list[str]:
    problems = []
    rows = conn.exec_driver_sql(
        "SELECT s.id, s.subject_id, s.scope, s.meaning, s.username, s.content_hash, p.key_id, p.signature, "
        "(SELECT device_seq FROM audit_event e WHERE e.id = s.audit_event_id AND e.device_id = ?) "
        "FROM signature s LEFT JOIN signature_proof p ON p.signature_id = s.id",
        (device_id,),
    ).all()
    items: dict[str, list[str]] = {}
    for sid, iid in conn.exec_driver_sql("SELECT signature_id, instance_id FROM signature_item"):
        items.setdefault(sid, []).append(iid)
    for sid, subject, scope, meaning, username, digest, kid, sig, seq in rows:
        problem = proof_problem(known, sid, subject, scope, meaning, username, digest, items.get(sid, []), kid, sig)
        if problem is None:
            continue
        if kid is None and seq is not None and seq < sealed_from:
            continue  # signed before per-user keys
        problems.append(f"signature {sid} by {username}: {problem}" + (" (server's keys)" if online else ""))
    return problems


def forgeries(conn: Connection, subject_id: str, items: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """A subject's signatures that are not provably their signer's (checked with the keys known here)."""
    known = local_keys(conn)
    sealed_from = int(conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (SEALED_FROM,)).scalar() or 1)
    own = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'device_id'").scalar()
    found = {}
    for sid, scope, meaning, username, digest, kid, sig, seq in conn.exec_driver_sql(
        "SELECT s.id, s.scope, s.meaning, s.username, s.content_hash, p.key_id, p.signature, "
        "(SELECT device_seq FROM audit_event e WHERE e.id = s.audit_event_id AND e.device_id = ?) "
        "FROM signature s LEFT JOIN signature_proof p ON p.signature_id = s.id WHERE s.subject_id = ?",
        (own, subject_id),
    ):
        problem = proof_problem(known, sid, subject_id, scope, meaning, username, digest, items.get(sid, []), kid, sig)
        if problem is not None and not (kid is None and seq is not None and seq < sealed_from):
            found[sid] = f"not provably {username}'s: {problem}"
    return found


def proof_problem(
    known: Mapping[str, tuple[str, str]],
    signature_id: str,
    subject_id: str,
    scope: str,
    meaning: str,
    username: str,
    digest: str,
    instances: Sequence[str],
    key_id: str | None,
    signature: str | None,
) -> str | None:
    """Why an electronic signature is not provably its signer's, or None."""
    if key_id is None or signature is None:
        return "carries no cryptographic signature"
    key = known.get(key_id)
    if key is None or key[0] != username:
        return f"signed with a key that is not {username}'s"
    if not keys.verify(
        key[1], keys.esign_message(signature_id, scope, subject_id, meaning, digest, instances), signature
    ):
        return "the cryptographic signature does not match the signed content"
    return None


def local_keys(conn: Connection) -> dict[str, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in conn.exec_driver_sql("SELECT key_id, username, sign_public FROM user_key")}


def replay_problems(conn: Connection) -> list[str]:
    """Stored values against a replay of the trail. A field only this laptop's own changes touched must
    hold the last of them exactly; one that changes from elsewhere or a conflict touched must hold a
    value one of its events carried (a pull keeps this laptop's unpushed values, so the order of the
    trail alone does not decide there)."""
    own = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'device_id'").scalar()
    last: dict[tuple[str, str], str | None] = {}
    seen: dict[tuple[str, str], set[str | None]] = {}
    mixed: set[tuple[str, str]] = set()
    for instance, field_id, action, value, device in conn.exec_driver_sql(
        "SELECT instance_id, field_id, action, new_json, device_id FROM audit_event "
        "WHERE action IN ('value_set', 'value_clear', 'conflict_resolve', 'sync_conflict') ORDER BY seq"
    ):
        key = (instance, field_id)
        if action == "sync_conflict":
            try:
                value = json.loads(value or "{}").get("current")
            except (ValueError, AttributeError):
                value = None
            mixed.add(key)
        elif action == "value_clear":
            value = None
        if device != own:
            mixed.add(key)
        last[key] = value
        seen.setdefault(key, set()).add(value)
    stored = {
        (r[0], r[1]): r[2] for r in conn.exec_driver_sql("SELECT instance_id, field_id, value_json FROM field_value")
    }
    problems = []
    for key in sorted(last, key=lambda k: (k[0] or "", k[1] or "")):  # fields no value event wrote: other event types
        value = stored.get(key)
        expected = last.get(key)
        fine = value in seen.get(key, set()) if key in mixed else value == expected
        if not fine:
            problems.append(
                f"form instance {key[0]}, field {key[1]}: the stored value is not what the audit trail recorded"
            )
    return problems[:50]
