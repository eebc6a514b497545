"""The statements of one form save, at the driver level, on the unit of work's own connection.

A save is the hot path of the ward round. Through the ORM it cost ~13 ms, nearly all of it
per-statement bookkeeping; these few plain statements do the same reads and writes in the same
transaction. The ORM models still define the schema (a test compares them with the migrations).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from .errors import StoreError


@dataclass
class InstanceRow:
    visit_id: str
    visit_pk: str
    id: str
    form_id: str
    form_version: str
    status: str
    values: dict[str, Any] = field(default_factory=dict)  # JSON values
    versions: dict[str, int | None] = field(default_factory=dict)  # server version of each field
    raw: dict[str, str] = field(default_factory=dict)  # value_json as stored


def subject_ref(conn: Connection, ref: str) -> tuple[str, str]:
    row = conn.exec_driver_sql("SELECT id, number FROM subject WHERE number = ? OR id = ?", (ref, ref)).first()
    if row is None:
        raise StoreError(f"no subject {ref!r} in this store")
    return row[0], row[1]


def load_forms(conn: Connection, subject_id: str, forms: frozenset[str] | None) -> list[InstanceRow]:
    """A subject's form instances (only `forms`, or all) with their current values, oldest first."""
    where, params = "v.subject_id = ?", [subject_id]
    if forms is not None:
        where += f" AND i.form_id IN ({', '.join('?' * len(forms))})"
        params += sorted(forms)
    rows = conn.exec_driver_sql(
        "SELECT v.visit_id, v.id, i.id, i.form_id, i.form_version, i.status FROM visit v "
        f"JOIN form_instance i ON i.visit_pk = v.id WHERE {where} ORDER BY v.visit_id, i.created_at, i.id",
        tuple(params),
    ).all()
    instances = {r[2]: InstanceRow(*r) for r in rows}
    values = conn.exec_driver_sql(
        "SELECT fv.instance_id, fv.field_id, fv.value_json, fv.server_version FROM field_value fv "
        f"JOIN form_instance i ON i.id = fv.instance_id JOIN visit v ON v.id = i.visit_pk WHERE {where}",
        tuple(params),
    ).all()
    for instance_id, field_id, value_json, version in values:
        row = instances[instance_id]
        row.values[field_id] = json.loads(value_json)
        row.raw[field_id] = value_json
        row.versions[field_id] = version
    return list(instances.values())


def confirmed_so_far(conn: Connection, instance_id: str) -> dict[str, set[str]]:
    """Soft checks already confirmed for each field's current value (a new value needs a new confirmation)."""
    confirmed: dict[str, set[str]] = {}
    events = conn.exec_driver_sql(
        "SELECT action, field_id, confirmed_json FROM audit_event WHERE instance_id = ? AND confirmed_json IS NOT NULL "
        "OR (instance_id = ? AND action IN ('value_set', 'value_clear')) ORDER BY seq",
        (instance_id, instance_id),
    )
    for action, field_id, confirmed_json in events:
        keys = json.loads(confirmed_json) if confirmed_json else []
        if action in ("value_set", "value_clear") and field_id:
            confirmed[field_id] = set(keys)
        elif action == "warnings_confirmed":
            for key in keys:
                confirmed.setdefault(key.split(":", 1)[0], set()).add(key)
    return confirmed


def visit_pk(conn: Connection, subject_id: str, visit_id: str, repeat: int = 0) -> str:
    row = conn.exec_driver_sql(
        "SELECT id FROM visit WHERE subject_id = ? AND visit_id = ? AND repeat = ?", (subject_id, visit_id, repeat)
    ).first()
    if row is not None:
        return str(row[0])
    new = str(uuid.uuid4())
    conn.exec_driver_sql(
        "INSERT INTO visit (id, subject_id, visit_id, repeat) VALUES (?, ?, ?, ?)", (new, subject_id, visit_id, repeat)
    )
    return new


def insert_instance(
    conn: Connection, instance_id: str, visit: str, form_id: str, version: str, status: str, now: str
) -> None:
    conn.exec_driver_sql(
        "INSERT INTO form_instance (id, visit_pk, form_id, form_version, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (instance_id, visit, form_id, version, status, now, now),
    )


def insert_instances(conn: Connection, rows: list[tuple[str, str, str, str, str, str, str]]) -> None:
    """(id, visit pk, form, version, status, created at, updated at) of each new form: one executemany."""
    conn.exec_driver_sql(
        "INSERT INTO form_instance (id, visit_pk, form_id, form_version, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def update_instance(conn: Connection, instance_id: str, status: str, now: str) -> None:
    conn.exec_driver_sql("UPDATE form_instance SET status = ?, updated_at = ? WHERE id = ?", (status, now, instance_id))


def write_values(
    conn: Connection,
    instance_id: str,
    user_id: str,
    now: str,
    new: dict[str, str],
    existing: set[str],
    cleared: list[str],
) -> None:
    """Insert the new fields, update the changed ones, delete the cleared ones: one executemany each."""
    inserts = [(instance_id, f, text, now, user_id) for f, text in new.items() if f not in existing]
    updates = [(text, now, user_id, instance_id, f) for f, text in new.items() if f in existing]
    if inserts:
        conn.exec_driver_sql(
            "INSERT INTO field_value (instance_id, field_id, value_json, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)",
            inserts,
        )
    if updates:
        conn.exec_driver_sql(
            "UPDATE field_value SET value_json = ?, updated_at = ?, updated_by = ? WHERE instance_id = ? AND field_id = ?",
            updates,
        )
    if cleared:
        conn.exec_driver_sql(
            "DELETE FROM field_value WHERE instance_id = ? AND field_id = ?", [(instance_id, f) for f in cleared]
        )
