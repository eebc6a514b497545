"""The local store's side of sync: the outbox, applying pulled changes, conflicts, sync state.

The audit trail is the outbox: this laptop's events after the `sync_pushed_seq` mark are what is
left to push. Pulled changes are appended to the local trail as they were written elsewhere (their
uuid, device, sequence, user and time; the local chain hash links them in) and applied to the
current values, together with the new cursor, in one transaction. A field this laptop changed and
has not pushed yet is never overwritten by a pull: the push decides (applied, or a conflict).

Pure store code: no HTTP here (`cik_ecrf.sync` talks to the server). What each kind of change does
here is its event type's business (`cik_ecrf.events`); this module is the laptop's state they act on.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection

from ..definitions.spec import StudyDefinition
from ..events import registry
from ..events.base import Refused
from ..events.change import CHANGE_FIELDS, Change
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
CURSOR_ID = "sync_cursor_id"  # the id of the server change at the cursor: a restored server has other ones there
DATA_ACTIONS = tuple(sorted(registry.DATA_ACTIONS))
VALUE_ACTIONS = tuple(sorted(registry.VALUE_ACTIONS))
_COLUMNS = (*CHANGE_FIELDS, "prev_hash", "hash")
_INSERT = f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


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
    put(conn, PUSHED, str(max(last_seq, pushed_mark(conn))))


def rewind_push(conn: Connection, last_seq: int) -> None:
    """The server holds this laptop's changes only up to `last_seq` (it was restored): send again from there."""
    put(conn, PUSHED, str(min(last_seq, pushed_mark(conn))))


def status(conn: Connection) -> LocalStatus:
    marks = (device_id(conn), pushed_mark(conn), *DATA_ACTIONS)
    waiting = conn.exec_driver_sql(
        f"SELECT count(*) FROM audit_event WHERE device_id = ? AND device_seq > ? AND action IN ({', '.join('?' * len(DATA_ACTIONS))})",
        marks,
    ).scalar_one()
    conflicts = conn.exec_driver_sql("SELECT count(*) FROM sync_conflict").scalar_one()
    quarantined = conn.exec_driver_sql("SELECT count(*) FROM sync_quarantine").scalar_one()
    return LocalStatus(
        get(conn, TOKEN) is not None,
        get(conn, SERVER_URL),
        int(waiting),
        int(conflicts),
        int(quarantined),
        get(conn, LAST_SYNC),
    )


# ---------------------------------------------------------------- pull side


def _pending_fields(conn: Connection) -> set[tuple[str, str]]:
    rows = conn.exec_driver_sql(
        "SELECT instance_id, field_id FROM audit_event WHERE device_id = ? AND device_seq > ? AND action IN (?, ?, ?)",
        (device_id(conn), pushed_mark(conn), *VALUE_ACTIONS),
    )
    return {(r[0], r[1]) for r in rows}


def _append_to_trail(conn: Connection, events: list[dict[str, Any]]) -> None:
    """Events written elsewhere join this laptop's chain unchanged; the local hash links them in."""
    if not events:
        return
    meta = dict(
        conn.exec_driver_sql("SELECT key, value FROM meta WHERE key IN (?, ?)", (audit.HEAD_KEY, audit.COUNT_KEY)).all()
    )
    previous, length = meta.get(audit.HEAD_KEY, audit.GENESIS), int(meta.get(audit.COUNT_KEY, 0))
    rows = []
    for event in events:
        row = {name: event.get(name) for name in CHANGE_FIELDS}
        row["prev_hash"] = previous
        row["hash"] = previous = audit.event_hash(row)
        rows.append(tuple(row[c] for c in _COLUMNS))
    conn.exec_driver_sql(_INSERT, rows)
    put(conn, audit.HEAD_KEY, previous)
    put(conn, audit.COUNT_KEY, str(length + len(rows)))


def _user_ids(conn: Connection, events: list[dict[str, Any]]) -> dict[str, str]:
    """Local user ids by name; a user this laptop has not heard of gets an inactive record (no key, no login)."""
    known = dict(conn.exec_driver_sql('SELECT username, id FROM "user"').all())
    for event in events:
        name = event["username"]
        if name not in known:
            known[name] = str(uuid.uuid4())
            conn.exec_driver_sql(
                'INSERT INTO "user" (id, username, full_name, role, password_hash, must_change_password, active, created_at) VALUES (?, ?, ?, ?, ?, 1, 0, ?)',
                (known[name], name, name, event.get("role") or "nurse", "!", event["at_utc"]),
            )
    return known


@dataclass(frozen=True)
class PullApplied:
    """What one pulled page did here: how many changes were new, and which forms another laptop's
    values changed (instance -> user), the ones whose signatures here no longer hold."""

    fresh: int
    touched: dict[str, str]


class PulledPage:
    """One page of pulled changes applied to this laptop: the `LaptopState` the event types act on.

    Value writes are collected (last one wins, in server order) and written in a few executemany
    statements at the end; a field this laptop changed and has not pushed yet is left alone."""

    def __init__(self, conn: Connection, study: StudyDefinition, users: dict[str, str]) -> None:
        self.conn = conn
        self.study = study
        self.users = users
        self.pending = _pending_fields(conn)
        self.instances = {r[0]: r[1] for r in conn.exec_driver_sql("SELECT id, status FROM form_instance")}
        self.subjects = {r[0] for r in conn.exec_driver_sql("SELECT id FROM subject")}
        self.writes: dict[tuple[str, str], tuple[str | None, int | None, str | None, str, bool]] = {}
        self.own_device = device_id(conn)
        self.touched: dict[str, str] = {}  # instances whose values another laptop changed, with who did it

    def has_subject(self, subject_id: str | None) -> bool:
        return subject_id in self.subjects

    def add_subject(self, change: Change, number: str) -> None:
        if self.conn.exec_driver_sql("SELECT 1 FROM subject WHERE number = ?", (number,)).first() is not None:
            raise Refused(f"subject number {number} is another subject's on this laptop")
        site = self.conn.exec_driver_sql(
            "SELECT site_code FROM device WHERE id = ?", (device_id(self.conn),)
        ).scalar_one()
        self.conn.exec_driver_sql(
            "INSERT INTO subject (id, number, site_code, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
            (change.subject_id, number, site, change.at_utc, self.users.get(change.username, "")),
        )
        self.subjects.add(change.subject_id or "")

    def instance_status(self, instance_id: str | None) -> str | None:
        return self.instances.get(instance_id or "")

    def add_instance(self, change: Change, status: str, version: str) -> None:
        from .save_sql import insert_instance, visit_pk

        visit = visit_pk(self.conn, change.subject_id, change.visit_id)
        insert_instance(self.conn, change.instance_id, visit, change.form_id, version, status, change.at_utc)
        self.instances[change.instance_id or ""] = status

    def set_status(self, change: Change, status: str) -> None:
        self.conn.exec_driver_sql(
            "UPDATE form_instance SET status = ?, updated_at = ? WHERE id = ?",
            (status, change.at_utc, change.instance_id),
        )
        self.instances[change.instance_id or ""] = status

    def write_value(self, seq: int, change: Change, value_json: str | None, *, conflict: bool = False) -> None:
        key = (change.instance_id or "", change.field_id or "")
        if key in self.pending:
            return
        if conflict:
            self.writes[key] = (value_json, change.base_version, None, change.at_utc, True)
        else:
            self.writes[key] = (value_json, seq, self.users.get(change.username, ""), change.at_utc, False)
            if change.device_id != self.own_device:  # this laptop's own changes coming back touch nothing new
                self.touched[key[0]] = change.username

    def open_conflict(self, seq: int, change: Change, current: str | None, candidates: list[dict[str, Any]]) -> None:
        self.conn.exec_driver_sql(
            "INSERT OR REPLACE INTO sync_conflict (instance_id, field_id, conflict_seq, current_json, candidates_json, opened_at) VALUES (?, ?, ?, ?, ?, ?)",
            (change.instance_id, change.field_id, seq, current, json.dumps(candidates), change.at_utc),
        )

    def close_conflict(self, change: Change, up_to: int) -> None:
        self.conn.exec_driver_sql(
            "DELETE FROM sync_conflict WHERE instance_id = ? AND field_id = ? AND conflict_seq <= ?",
            (change.instance_id, change.field_id, up_to),
        )


def _readable(
    changes: Sequence[tuple[int, str, Any]],
) -> tuple[list[tuple[int, str, Change]], list[tuple[str, int, str]]]:
    """Pulled items as Changes; an item that is not one is refused here (the rest of the page goes on)."""
    readable, refused = [], []
    for seq, disposition, raw in changes:
        try:
            readable.append((seq, disposition, raw if isinstance(raw, Change) else Change.model_validate(raw)))
        except ValidationError as exc:
            given = raw.get("id") if isinstance(raw, dict) else None
            name = given if isinstance(given, str) and len(given) <= 36 else f"server-seq-{seq}"
            refused.append((name, seq, f"received from the server (seq {seq}) unreadable: {exc.errors()[0]['msg']}"))
    return readable, refused


def apply_pulled(
    conn: Connection,
    changes: Sequence[tuple[int, str, Any]],
    cursor: int,
    epoch: str,
    cursor_id: str | None = None,
    study: StudyDefinition | None = None,
) -> PullApplied:
    """Apply one page of pulled changes and store the cursor after it: one transaction. Returns how many
    were new here. Each change is checked by its event type against this laptop's study first: one
    this laptop cannot apply (an old server let it in) is quarantined and reported, never a crash."""
    readable, refused = _readable(changes)
    ids = [c.id for _, _, c in readable]
    present: set[str] = set()
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        present |= {
            r[0]
            for r in conn.exec_driver_sql(
                f"SELECT id FROM audit_event WHERE id IN ({', '.join('?' * len(part))})", tuple(part)
            )
        }
    fresh = [c for _, _, c in readable if c.id not in present]
    users = _user_ids(conn, [c.model_dump() for c in fresh])
    _append_to_trail(conn, [c.model_dump() for c in fresh])
    page = PulledPage(conn, study or _default_study(), users)
    for seq, disposition, change in readable:
        if disposition not in ("applied", "merged"):
            continue  # a conflicting change: kept in the trail; the server's sync_conflict event carries its value
        event = registry.event(change.action)
        try:
            if event is None or not event.data:
                raise Refused(f"{change.action!r} is not a change laptops apply")
            if change.id not in present:  # this laptop's own changes coming back were checked when saved
                event.check(page.study, change)
            if event.laptop_apply is not None:  # each refuses before it writes: no half-applied change
                event.laptop_apply(page, seq, disposition, change)
        except Refused as exc:
            refused.append(
                (
                    change.id,
                    seq,
                    f"received from the server (seq {seq}, {change.action} by {change.username}): {exc}"[:500],
                )
            )
    _write_values(conn, page.writes)
    if refused:
        at = dt.datetime.now(dt.UTC).isoformat()
        conn.exec_driver_sql(
            "INSERT OR REPLACE INTO sync_quarantine (change_id, device_seq, reason, at_utc) VALUES (?, ?, ?, ?)",
            [(cid, seq, reason, at) for cid, seq, reason in refused],
        )
    put(conn, CURSOR, str(cursor))
    put(conn, CURSOR_ID, cursor_id)
    put(conn, EPOCH, epoch)
    return PullApplied(len(fresh), dict(page.touched))


@functools.cache
def _default_study() -> StudyDefinition:
    from ..definitions.loader import load_study

    return load_study()


def clear_signatures_under_pulled(
    conn: Connection, chain: audit.Chain, actor: audit.Actor, touched: dict[str, str]
) -> int:
    """Data signed here that another laptop changed before the signature reached the server: the signature
    no longer covers what the form holds, so it is cleared (audited, and pushed) and the form needs
    signing again, exactly as when the change is made here. Only changes that were applied here count
    (not quarantined ones, not this laptop's own coming back). Returns how many forms lost a signature."""
    from . import signatures

    changed = touched
    cleared = 0
    for instance_id, username in changed.items():
        row = conn.exec_driver_sql(
            "SELECT v.subject_id, v.visit_id, i.form_id, i.status FROM form_instance i JOIN visit v ON v.id = i.visit_pk WHERE i.id = ?",
            (instance_id,),
        ).first()
        if row is None:
            continue
        context = {"subject_id": row[0], "visit_id": row[1], "form_id": row[2]}
        reason = f"changed on another laptop by {username} after it was signed here"
        if signatures.clear_for_change(conn, chain, actor, instance_id, reason, context) and row[3] == "signed":
            chain.append(
                actor,
                "status_change",
                instance_id=instance_id,
                old_json=json.dumps("signed"),
                new_json=json.dumps("complete"),
                reason=reason,
                **context,
            )
            conn.exec_driver_sql("UPDATE form_instance SET status = 'complete' WHERE id = ?", (instance_id,))
            cleared += 1
    return cleared


def _write_values(
    conn: Connection, writes: dict[tuple[str, str], tuple[str | None, int | None, str | None, str, bool]]
) -> None:
    """A page's value changes in a few executemany statements (a fresh laptop pulls a whole site)."""
    if not writes:
        return
    instance_ids = sorted({k[0] for k in writes})
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(instance_ids), 500):
        part = instance_ids[start : start + 500]
        existing |= {
            (r[0], r[1])
            for r in conn.exec_driver_sql(
                f"SELECT instance_id, field_id FROM field_value WHERE instance_id IN ({', '.join('?' * len(part))})",
                tuple(part),
            )
        }
    fallback = conn.exec_driver_sql('SELECT id FROM "user" ORDER BY created_at LIMIT 1').scalar_one()
    deletes = [k for k, w in writes.items() if w[0] is None and k in existing]
    authored = [
        (w[0], w[1], w[3], w[2], *k) for k, w in writes.items() if w[0] is not None and k in existing and not w[4]
    ]
    kept = [(w[0], w[1], *k) for k, w in writes.items() if w[0] is not None and k in existing and w[4]]
    inserts = [
        (*k, w[0], w[3], w[2] or fallback, w[1]) for k, w in writes.items() if w[0] is not None and k not in existing
    ]
    if deletes:
        conn.exec_driver_sql("DELETE FROM field_value WHERE instance_id = ? AND field_id = ?", deletes)
    if authored:
        conn.exec_driver_sql(
            "UPDATE field_value SET value_json = ?, server_version = ?, updated_at = ?, updated_by = ? WHERE instance_id = ? AND field_id = ?",
            authored,
        )
    if kept:
        conn.exec_driver_sql(
            "UPDATE field_value SET value_json = ?, server_version = ? WHERE instance_id = ? AND field_id = ?", kept
        )
    if inserts:
        conn.exec_driver_sql(
            "INSERT INTO field_value (instance_id, field_id, value_json, updated_at, updated_by, server_version) VALUES (?, ?, ?, ?, ?, ?)",
            inserts,
        )


def _create_instance(conn: Connection, change: dict[str, Any]) -> None:
    from .save_sql import insert_instance, visit_pk

    info = json.loads(change["new_json"] or "{}")
    visit = visit_pk(conn, change["subject_id"], change["visit_id"])
    insert_instance(
        conn,
        change["instance_id"],
        visit,
        change["form_id"],
        str(info.get("version", "")),
        str(info.get("status", "draft")),
        change["at_utc"],
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
