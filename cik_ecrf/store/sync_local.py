"""The local store's side of sync: the outbox, sync state and marks, conflicts and their resolution,
and the site's users as the server sends them (pulled changes are applied in `pull.py`).

The audit trail is the outbox: this laptop's events after the `sync_pushed_seq` mark are what is
left to push. Pure store code: no HTTP here (`cik_ecrf.sync` talks to the server).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row

from ..events import registry
from ..events.change import CHANGE_FIELDS
from . import audit
from .errors import StoreError

SERVER_URL, TOKEN, EPOCH, CURSOR, PUSHED, LAST_SYNC = (
    "sync_server",
    "sync_token",
    "sync_epoch",
    "sync_cursor",
    "sync_pushed_seq",
    "sync_last_at",
)
RUN_END = "sync_restored_run"  # [last of a declared restored run, the server's highest before it] (store/restore.py)
USERS_ETAG, USERS_AT = "sync_users_etag", "sync_users_at"  # the site's users as last applied here, and when
CURSOR_ID = "sync_cursor_id"  # the id of the server change at the cursor: a restored server has other ones there
DATA_ACTIONS = tuple(sorted(registry.DATA_ACTIONS))
VALUE_ACTIONS = tuple(sorted(registry.VALUE_ACTIONS))


@dataclass(frozen=True)
class Candidate:
    """One of the values of a field in conflict, with who entered it, where and when."""

    value: Any
    username: str
    at_utc: str
    utc_offset_min: int
    device_id: str


@dataclass(frozen=True)
class Conflict:
    subject: str
    visit_id: str
    form_id: str
    instance_id: str
    field_id: str
    current: Any  # the value the field shows until someone resolves it
    candidates: tuple[Candidate, ...]
    conflict_seq: int


@dataclass(frozen=True)
class LocalStatus:
    enrolled: bool
    server_url: str | None
    waiting: int  # this laptop's data changes not yet pushed
    conflicts: int
    quarantined: int
    last_sync_utc: str | None


# ---------------------------------------------------------------- meta


def get(conn: Connection, key: str) -> str | None:
    row = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (key,)).first()
    return None if row is None else str(row[0])


def get_many(conn: Connection, keys: Sequence[str]) -> dict[str, str | None]:
    """Several marks in one read (every sync starts and ends by reading a handful)."""
    found = dict(rows_in(conn, "SELECT key, value FROM meta WHERE key", keys))
    return {key: None if found.get(key) is None else str(found[key]) for key in keys}


def put(conn: Connection, key: str, value: str | None) -> None:
    if value is None:
        conn.exec_driver_sql("DELETE FROM meta WHERE key = ?", (key,))
    else:
        conn.exec_driver_sql(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def device_id(conn: Connection) -> str:
    value = get(conn, "device_id")
    if value is None:
        raise StoreError("this store has no device record")
    return value


def pushed_mark(conn: Connection) -> int:
    return int(get(conn, PUSHED) or 0)


IN_CHUNK = 500  # values bound in one IN (...), well under SQLite's limit on bound parameters


def rows_in(conn: Connection, query: str, values: Sequence[Any]) -> list[Row[Any]]:
    """`query`, which ends with the column to match ("SELECT ... WHERE id"), IN `values`: chunk by chunk,
    each chunk fetched at once (row by row costs more than the query)."""
    rows: list[Row[Any]] = []
    for start in range(0, len(values), IN_CHUNK):
        part = tuple(values[start : start + IN_CHUNK])
        rows += conn.exec_driver_sql(f"{query} IN ({', '.join('?' * len(part))})", part).all()
    return rows


# ---------------------------------------------------------------- push side


def outbox(conn: Connection, limit: int, after: int | None = None) -> list[dict[str, Any]]:
    """This laptop's next events to push, in device order (after the pushed mark, or after `after`)."""
    rows = conn.exec_driver_sql(
        f"SELECT {', '.join(CHANGE_FIELDS)} FROM audit_event WHERE device_id = ? AND device_seq > ? ORDER BY device_seq LIMIT ?",
        (device_id(conn), pushed_mark(conn) if after is None else after, limit),
    ).all()
    return [dict(zip(CHANGE_FIELDS, row, strict=True)) for row in rows]


def record_push(conn: Connection, last_seq: int, rejected: Sequence[tuple[str, int, str]], at_utc: str) -> None:
    """The server answered every change up to `last_seq`; refused ones are quarantined (kept, reported)."""
    if rejected:
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO sync_quarantine (change_id, device_seq, reason, at_utc) VALUES (?, ?, ?, ?)",
            [(c, s, r, at_utc) for c, s, r in rejected],
        )
    mark = max(last_seq, pushed_mark(conn))
    run_end = get(conn, RUN_END)
    if run_end is not None:  # a restored run (store/restore.py): taken whole, the server's numbers after it are sent
        to_seq, server_seq = json.loads(run_end)
        if mark >= int(to_seq):
            mark = max(mark, int(server_seq))
            put(conn, RUN_END, None)
    put(conn, PUSHED, str(mark))


def rewind_push(conn: Connection, last_seq: int) -> None:
    """The server holds this laptop's changes only up to `last_seq` (it was restored): send again from there."""
    put(conn, PUSHED, str(min(last_seq, pushed_mark(conn))))


def status(conn: Connection) -> LocalStatus:
    held = get_many(conn, ("device_id", PUSHED, TOKEN, SERVER_URL, LAST_SYNC))
    if held["device_id"] is None:
        raise StoreError("this store has no device record")
    marks = (held["device_id"], int(held[PUSHED] or 0), *DATA_ACTIONS)
    waiting = conn.exec_driver_sql(
        f"SELECT count(*) FROM audit_event WHERE device_id = ? AND device_seq > ? AND action IN ({', '.join('?' * len(DATA_ACTIONS))})",
        marks,
    ).scalar_one()
    conflicts = conn.exec_driver_sql("SELECT count(*) FROM sync_conflict").scalar_one()
    quarantined = conn.exec_driver_sql("SELECT count(*) FROM sync_quarantine").scalar_one()
    return LocalStatus(
        held[TOKEN] is not None, held[SERVER_URL], int(waiting), int(conflicts), int(quarantined), held[LAST_SYNC]
    )


def _set_value(
    conn: Connection,
    key: tuple[str, str],
    value_json: str | None,
    version: int | None,
    user_id: str | None,
    at: str,
    keep_author: bool = False,
) -> None:
    if value_json is None:
        conn.exec_driver_sql("DELETE FROM field_value WHERE instance_id = ? AND field_id = ?", key)
        return
    updated = conn.exec_driver_sql(
        "UPDATE field_value SET value_json = ?, server_version = ?"
        + ("" if keep_author else ", updated_at = ?, updated_by = ?")
        + " WHERE instance_id = ? AND field_id = ?",
        (value_json, version, *(() if keep_author else (at, user_id)), *key),
    )
    if updated.rowcount == 0:
        author = user_id or conn.exec_driver_sql('SELECT id FROM "user" ORDER BY created_at LIMIT 1').scalar_one()
        conn.exec_driver_sql(
            "INSERT INTO field_value (instance_id, field_id, value_json, updated_at, updated_by, server_version) VALUES (?, ?, ?, ?, ?, ?)",
            (*key, value_json, at, author, version),
        )


def reset_for_full_pull(conn: Connection) -> None:
    """The server does not know our cursor (restored from a backup): pull everything, and push everything
    again (the server answers duplicates for what it kept and takes back what it lost)."""
    put(conn, CURSOR, "0")
    put(conn, CURSOR_ID, None)
    put(conn, EPOCH, None)
    put(conn, PUSHED, "0")


# ---------------------------------------------------------------- conflicts


def conflicts(conn: Connection) -> list[Conflict]:
    rows = conn.exec_driver_sql(
        "SELECT s.number, v.visit_id, i.form_id, c.instance_id, c.field_id, c.current_json, c.candidates_json, c.conflict_seq FROM sync_conflict c "
        "JOIN form_instance i ON i.id = c.instance_id JOIN visit v ON v.id = i.visit_pk JOIN subject s ON s.id = v.subject_id ORDER BY s.number, v.visit_id, i.form_id, c.field_id"
    ).all()
    out = []
    for number, visit, form, instance, field, current, candidates, seq in rows:
        values = tuple(
            Candidate(
                _load(c["value_json"]),
                c["username"] or "",
                c["at_utc"] or "",
                int(c["utc_offset_min"] or 0),
                c["device_id"] or "",
            )
            for c in json.loads(candidates)
        )
        out.append(Conflict(number, visit, form, instance, field, _load(current), values, seq))
    return out


def _load(value_json: str | None) -> Any:
    return None if value_json is None else json.loads(value_json)


def resolve(
    conn: Connection,
    chain: audit.Chain,
    actor: audit.Actor,
    instance_id: str,
    field_id: str,
    value_json: str | None,
    reason: str,
) -> None:
    """Close a conflict with the chosen value: an audited change with a reason, sent at the next sync."""
    if not reason or not reason.strip():
        raise StoreError("reason: resolving a conflict needs a reason")
    row = conn.exec_driver_sql(
        "SELECT conflict_seq FROM sync_conflict WHERE instance_id = ? AND field_id = ?", (instance_id, field_id)
    ).first()
    if row is None:
        raise StoreError(f"{field_id}: no open conflict on this field of form instance {instance_id}")
    context = conn.exec_driver_sql(
        "SELECT v.subject_id, v.visit_id, i.form_id FROM form_instance i JOIN visit v ON v.id = i.visit_pk WHERE i.id = ?",
        (instance_id,),
    ).one()
    old = conn.exec_driver_sql(
        "SELECT value_json FROM field_value WHERE instance_id = ? AND field_id = ?", (instance_id, field_id)
    ).scalar()
    chain.append(
        actor,
        "conflict_resolve",
        subject_id=context[0],
        visit_id=context[1],
        form_id=context[2],
        instance_id=instance_id,
        field_id=field_id,
        old_json=old,
        new_json=value_json,
        reason=reason.strip(),
        base_version=int(row[0]),
    )
    _set_value(
        conn,
        (instance_id, field_id),
        value_json,
        conn.exec_driver_sql(
            "SELECT server_version FROM field_value WHERE instance_id = ? AND field_id = ?", (instance_id, field_id)
        ).scalar(),
        actor.user_id or "",
        chain.at[0],
    )
    conn.exec_driver_sql("DELETE FROM sync_conflict WHERE instance_id = ? AND field_id = ?", (instance_id, field_id))


def value_json_for(study: Any, form_id: str, field_id: str, value: Any) -> str | None:
    """The chosen value, read as the field's type and stored as saves store it (None clears)."""
    from ..rules.coerce import Unreadable, is_blank, read_scalar
    from ..rules.jsonvalues import to_json

    spec = study.forms[form_id].fields.get(field_id) if form_id in study.forms else None
    if spec is None:
        raise StoreError(f"{field_id}: form {form_id} has no field {field_id}")
    if value is None or is_blank(value):
        return None
    try:
        typed = read_scalar(spec, value)
    except Unreadable as exc:
        raise StoreError(f"{field_id}: {exc}") from None
    return json.dumps(to_json(typed), ensure_ascii=False, sort_keys=True)


CENTRAL_PASSWORD = "!"


def sync_users(conn: Connection, chain: audit.Chain, actor: audit.Actor, users: Sequence[dict[str, Any]]) -> int:
    """Users are managed on the server; their records (never their passwords) reach every laptop of the site."""
    known = {r[0]: r[1:] for r in conn.exec_driver_sql('SELECT username, role, full_name, active FROM "user"')}
    changes = []
    for user in users:
        current = known.get(user["username"])
        if current is None:
            # "!" matches no password: central users' passwords are set on the server; they sign in here with
            # the login key the server sent (store/access.py set_central_key), not with a local hash.
            conn.exec_driver_sql(
                'INSERT INTO "user" (id, username, full_name, role, password_hash, must_change_password, active, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)',
                (
                    user["id"],
                    user["username"],
                    user["full_name"],
                    user["role"],
                    CENTRAL_PASSWORD,
                    bool(user["active"]),
                    chain.at[0],
                ),
            )
            changes.append({"username": user["username"], "role": user["role"], "added": True})
        elif (current[0], current[1], bool(current[2])) != (user["role"], user["full_name"], bool(user["active"])):
            conn.exec_driver_sql(
                'UPDATE "user" SET role = ?, full_name = ?, active = ? WHERE username = ?',
                (user["role"], user["full_name"], bool(user["active"]), user["username"]),
            )
            changes.append({"username": user["username"], "role": user["role"], "active": bool(user["active"])})
    if changes:
        chain.append(actor, "users_synced", new_json=json.dumps(changes, sort_keys=True))
    return len(changes)
