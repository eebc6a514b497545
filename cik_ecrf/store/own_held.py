"""This laptop's own value changes coming back in a pull, left alone when the field already holds them
exactly as the server does (issue 19): the push answer marked them (`pushed_versions.py`), so writing
them again would change nothing but cost a fresh laptop's first sync a third of its time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from .sync_local import device_id, rows_in

APPLIED = ("applied", "merged")  # the dispositions a laptop applies; the others are kept in the trail only
#: this laptop's own changes a pull may find already held as the server has them (`pushed_versions.py`)
_OWN_HELD = ("value_set", "value_clear")
#: changes that write no field's value here (a subject, an instance, its status)
_VALUE_NEUTRAL = frozenset({"subject_add", "form_create", "status_change"})
#: changes that write only the one field they name
_ONE_FIELD = frozenset({"value_set", "value_clear", "conflict_resolve", "sync_conflict"})


def raw_get(raw: Any, name: str) -> Any:
    return raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)


def own_held(
    conn: Connection, changes: Sequence[tuple[int, str, Any]], present: set[str]
) -> tuple[list[tuple[int, str, Any]], int]:
    """The page without this laptop's own value changes whose write here would change nothing: the
    field already holds exactly what applying the change writes (its value, this server seq, its time
    and author: the push answer marked them, `pushed_versions.py`). Returns (the rest, how many left out).

    Only a change in this laptop's own trail (by id) is ever left out, so a laptop restored from an
    older copy still gets its lost changes back. A change is compared with the field as the page finds
    it; once an earlier change of the page that is applied may write that field (any change to it, or
    a change to its instance other than a subject, instance or status), it is applied as before: the
    server's order decides. Leaving out a write that changes nothing leaves every field, the cursor and
    the conflicts exactly as applying it would."""
    own = device_id(conn)
    candidates = {
        index
        for index, (_, disposition, raw) in enumerate(changes)
        if disposition in APPLIED
        and isinstance(raw, dict)
        and raw.get("device_id") == own
        and raw.get("action") in _OWN_HELD
        and raw.get("id") in present
        and isinstance(raw.get("instance_id"), str)
        and isinstance(raw.get("field_id"), str)
    }
    if not candidates:
        return list(changes), 0
    rows = _field_rows(conn, {changes[i][2]["instance_id"] for i in candidates})
    users = dict(conn.exec_driver_sql('SELECT username, id FROM "user"').all())
    kept: list[tuple[int, str, Any]] = []
    written_fields: set[tuple[str, str]] = set()
    written_instances: set[str] = set()
    anything = False  # an applied change naming no instance came first: nothing more is left out
    for index, item in enumerate(changes):
        seq, disposition, raw = item
        if index in candidates and not anything:
            key = (raw["instance_id"], raw["field_id"])
            if (
                key not in written_fields
                and key[0] not in written_instances
                and _already_held(raw, seq, rows.get(key), users)
            ):
                continue
        kept.append(item)
        action, instance_id, field_id = (raw_get(raw, n) for n in ("action", "instance_id", "field_id"))
        if disposition not in APPLIED or action in _VALUE_NEUTRAL:
            continue
        if action in _ONE_FIELD and isinstance(instance_id, str) and isinstance(field_id, str):
            written_fields.add((instance_id, field_id))
        elif isinstance(instance_id, str):
            written_instances.add(instance_id)
        else:
            anything = True
    return kept, len(changes) - len(kept)


def _already_held(raw: dict[str, Any], seq: int, row: tuple[Any, ...] | None, users: dict[str, str]) -> bool:
    """Would applying this value change write exactly what the field holds (`PulledPage.write_value`)?"""
    value = raw.get("new_json")
    if raw.get("action") == "value_clear":
        return value is None and row is None
    author = users.get(raw.get("username"))
    return value is not None and author is not None and row == (value, seq, raw.get("at_utc"), author)


def _field_rows(conn: Connection, instance_ids: set[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(value, server version, time, author) of every field of these instances."""
    query = "SELECT instance_id, field_id, value_json, server_version, updated_at, updated_by FROM field_value WHERE instance_id"
    return {(r[0], r[1]): (r[2], r[3], r[4], r[5]) for r in rows_in(conn, query, sorted(instance_ids))}
