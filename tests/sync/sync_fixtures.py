"""Values and helpers shared by the sync tests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Engine, text

from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.sync.client import SyncClient, SyncOutcome

VITALS: dict[str, Any] = {
    "VSDAT": "2026-01-01T10:00+08:00",
    "TEMP": 36.5,
    "HR": 80,
    "RESP": 20,
    "SYSBP": 110,
    "DIABP": 70,
    "OXYSAT": 98,
    "O2SUPP": "NONE",
    "WEIGHT": 40.0,
}


def sync(store: Store, **kwargs: Any) -> SyncOutcome:
    outcome = SyncClient(store, **kwargs).run()
    assert outcome.error is None, outcome.error
    return outcome


def values(store: Store, subject: str) -> dict[tuple[str, str], dict[str, Any]]:
    _, rows = store.subject_values(subject)
    return {(r["visit"], r["form"]): r["values"] for r in rows}


def local_state(store: Store) -> dict[str, Any]:
    """A laptop's clinical data, comparable across laptops: subjects, forms, statuses, values, conflicts."""
    with store.unit_of_work() as session:
        conn = session.connection()
        subjects = sorted(tuple(r) for r in conn.exec_driver_sql("SELECT id, number FROM subject"))
        forms = sorted(
            tuple(r)
            for r in conn.exec_driver_sql(
                "SELECT i.id, v.visit_id, i.form_id, i.status FROM form_instance i JOIN visit v ON v.id = i.visit_pk"
            )
        )
        fields = sorted(
            tuple(r)
            for r in conn.exec_driver_sql("SELECT instance_id, field_id, value_json, server_version FROM field_value")
        )
        conflicts = sorted(
            tuple(r) for r in conn.exec_driver_sql("SELECT instance_id, field_id, current_json FROM sync_conflict")
        )
    return {"subjects": subjects, "forms": forms, "fields": fields, "conflicts": conflicts}


def server_state(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        subjects = sorted(tuple(r) for r in conn.execute(text("SELECT id, number FROM subject")))
        forms = sorted(tuple(r) for r in conn.execute(text("SELECT id, visit_id, form_id, status FROM instance")))
        fields = sorted(
            tuple(r)
            for r in conn.execute(
                text("SELECT instance_id, field_id, value_json, version FROM field_state WHERE value_json IS NOT NULL")
            )
        )
        conflicts = sorted(
            tuple(r)
            for r in conn.execute(
                text("SELECT instance_id, field_id, value_json FROM field_state WHERE conflict_seq IS NOT NULL")
            )
        )
    return {"subjects": subjects, "forms": forms, "fields": fields, "conflicts": conflicts}


def server_changes(engine: Engine) -> dict[str, str]:
    """Every change the server logged, by id, with its content digest (laptop changes only)."""
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, digest FROM change WHERE device_id <> 'server'")).all())


def laptop_events(store: Store) -> dict[str, str]:
    """This laptop's own events by id, hashed the way the server digests them."""
    from cik_ecrf.sync.protocol import Change

    device_id, _, _ = store.sync_device()
    return {e["id"]: Change(**e).digest() for e in _own_events(store, device_id)}


def _own_events(store: Store, device_id: str) -> list[dict[str, Any]]:
    from cik_ecrf.store import sync_local

    with store.unit_of_work() as session:
        rows = (
            session.connection()
            .exec_driver_sql(
                f"SELECT {', '.join(sync_local.CHANGE_FIELDS)} FROM audit_event WHERE device_id = ? ORDER BY device_seq",
                (device_id,),
            )
            .all()
        )
    return [dict(zip(sync_local.CHANGE_FIELDS, r, strict=True)) for r in rows]


def union_digest(changes: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(changes.items())).encode()).hexdigest()


def save(store: Store, subject: str, visit: str, form: str, data: dict[str, Any], **kwargs: Any) -> str:
    return store.save(SaveRequest(subject, visit, form, data, **kwargs)).instance_id
