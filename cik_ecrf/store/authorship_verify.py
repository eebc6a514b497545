"""`audit verify`'s authorship checks over a store: seals, authors, electronic signatures' proofs, and
stored values against a replay of the trail (`store.authorship` writes what these read).

They are only as good as the public keys they are given: this laptop's own by default, which anyone
who holds the store key can replace; the server's when online (`sync.authorship_check`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from ..core import keys
from ..events.change import CHANGE_FIELDS
from .authorship import SEALED_FROM, needs_author


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
