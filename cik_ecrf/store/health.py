"""Healing what an older server let through: values no form could hold, statuses nothing may set,
and conflicts that no server opened.

Pulled changes are checked by their event types before they apply, so new bad data cannot arrive;
this pass repairs what a laptop already holds from before. Each repair replays the laptop's own
audit trail for that field or form, keeping only the events the registry accepts, so the field goes
back to the last value it validly had (never a guess). Every repair is an audited `sync_repair`
event, and each is reported in words a data manager can act on. It runs once per store (a mark in
`meta`, set when a store is created), at the first sync after the upgrade; after that, pull-side checks keep the store clean.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ..core.status import STATUSES, FormStatus
from ..definitions.spec import StudyDefinition
from ..events import registry
from ..events.base import Refused
from ..events.values import check_value_json, entered_field
from . import audit

HEALED_KEY = "health_checked"
HEALTH_VERSION = "1"


@dataclass(frozen=True)
class Repair:
    """One thing found wrong and what was done about it."""

    subject: str
    visit_id: str
    form_id: str
    field_id: str | None
    problem: str
    action: str
    instance_id: str | None = None
    old: str | None = None  # what the store held (kept in the audit trail with the repair)
    new: str | None = None

    def describe(self) -> str:
        where = " ".join(x for x in (self.subject, self.visit_id, self.form_id, self.field_id) if x)
        return f"{where}: {self.problem}; {self.action}"


def needed(conn: Connection) -> bool:
    """Whether this store has yet to be checked by this version of `heal` (asked at every sync)."""
    return _get(conn, HEALED_KEY) != HEALTH_VERSION


def heal(
    conn: Connection, chain: audit.Chain, actor: audit.Actor, study: StudyDefinition, versions: Any = None
) -> list[Repair]:
    """Check the whole store once; repair and audit what is wrong. Returns the repairs made.

    Each value is checked against its instance's own study version (`versions`, a StudySet): a value an
    amendment no longer allows stays valid on the instances entered under the older version."""
    if _get(conn, HEALED_KEY) == HEALTH_VERSION:
        return []
    forms: dict[str, tuple[str, str, str, str]] = {}
    own: dict[str, StudyDefinition] = {}
    for r in conn.exec_driver_sql(
        "SELECT i.id, s.number, v.visit_id, i.form_id, i.status, i.form_version FROM form_instance i "
        "JOIN visit v ON v.id = i.visit_pk JOIN subject s ON s.id = v.subject_id"
    ):
        forms[r[0]] = (r[1], r[2], r[3], r[4])
        own[r[0]] = (versions.study_for_form(r[3], r[5]) if versions is not None else None) or study
    repairs = _forged_conflicts(conn, own, forms)
    repairs += _bad_values(conn, own, forms)
    repairs += _bad_statuses(conn, forms)
    for repair in repairs:
        chain.append(
            actor,
            "sync_repair",
            instance_id=repair.instance_id,
            field_id=repair.field_id,
            reason=repair.describe()[:2000],
            old_json=repair.old,
            new_json=repair.new,
        )
    _put(conn, HEALED_KEY, HEALTH_VERSION)
    return repairs


def mark_healthy(conn: Connection) -> None:
    _put(conn, HEALED_KEY, HEALTH_VERSION)


def _forged_conflicts(
    conn: Connection, own: dict[str, StudyDefinition], forms: dict[str, tuple[str, str, str, str]]
) -> list[Repair]:
    """A conflict opened by a `sync_conflict` event that no server wrote: dropped, the value replayed."""
    forged = conn.exec_driver_sql(
        "SELECT DISTINCT instance_id, field_id, username FROM audit_event WHERE action = 'sync_conflict' AND device_id != 'server'"
    ).all()
    repairs = []
    for instance_id, field_id, username in forged:
        if instance_id not in forms:
            continue
        conn.exec_driver_sql(
            "DELETE FROM sync_conflict WHERE instance_id = ? AND field_id = ?", (instance_id, field_id)
        )
        number, visit, form, _ = forms[instance_id]
        restored = _replay_value(conn, instance_id, field_id, _spec(own[instance_id], form, visit, field_id))
        _write(conn, instance_id, field_id, restored)
        repairs.append(
            Repair(
                number,
                visit,
                form,
                field_id,
                f"a conflict notice forged by {username}'s laptop",
                f"dropped, {_shown(restored)}",
                instance_id,
                None,
                restored,
            )
        )
    return repairs


def _bad_values(
    conn: Connection, own: dict[str, StudyDefinition], forms: dict[str, tuple[str, str, str, str]]
) -> list[Repair]:
    repairs = []
    rows = conn.exec_driver_sql("SELECT instance_id, field_id, value_json FROM field_value").all()
    for instance_id, field_id, value_json in rows:
        if instance_id not in forms:
            continue
        number, visit, form, _ = forms[instance_id]
        study = own[instance_id]  # the instance's own version
        problem = _value_problem(study, form, visit, field_id, value_json)
        if problem is None:
            continue
        spec = _spec(study, form, visit, field_id)
        restored = None if spec is None else _replay_value(conn, instance_id, field_id, spec)
        _write(conn, instance_id, field_id, restored)
        repairs.append(
            Repair(
                number,
                visit,
                form,
                field_id,
                f"held {value_json[:60]!r}, which {problem}",
                _shown(restored),
                instance_id,
                value_json,
                restored,
            )
        )
    return repairs


def _value_problem(study: StudyDefinition, form: str, visit: str, field_id: str, value_json: str | None) -> str | None:
    try:
        check_value_json(entered_field(study, form, visit, field_id), value_json)
    except Refused as exc:
        return f"is not valid ({exc})"
    return None


def _spec(study: StudyDefinition, form: str, visit: str, field_id: str) -> Any:
    try:
        return entered_field(study, form, visit, field_id)
    except Refused:
        return None


def _bad_statuses(conn: Connection, forms: dict[str, tuple[str, str, str, str]]) -> list[Repair]:
    """A status nothing may set: an unknown string, `locked` (no lock exists yet), `signed` with no
    signature behind it on this laptop or a pulled status change."""
    repairs = []
    for instance_id, (number, visit, form, status) in forms.items():
        if status in (FormStatus.DRAFT, FormStatus.COMPLETE):
            continue
        if status == FormStatus.SIGNED and _signed_validly(conn, instance_id):
            continue
        restored = _replay_status(conn, instance_id)
        conn.exec_driver_sql("UPDATE form_instance SET status = ? WHERE id = ?", (restored, instance_id))
        repairs.append(
            Repair(
                number,
                visit,
                form,
                None,
                f"had the status {status[:40]!r}, which no valid change set",
                f"back to {restored}",
                instance_id,
                json.dumps(status),
                json.dumps(restored),
            )
        )
    return repairs


def _signed_validly(conn: Connection, instance_id: str) -> bool:
    local = conn.exec_driver_sql(
        "SELECT 1 FROM signature_item si JOIN signature s ON s.id = si.signature_id WHERE si.instance_id = ? AND s.cleared_at_utc IS NULL",
        (instance_id,),
    ).first()
    return local is not None or _replay_status(conn, instance_id) == FormStatus.SIGNED


def _replay_status(conn: Connection, instance_id: str) -> str:
    """The last status the trail validly gave the form: creation, then draft/complete/signed changes."""
    status = FormStatus.DRAFT.value
    for action, new_json in conn.exec_driver_sql(
        "SELECT action, new_json FROM audit_event WHERE instance_id = ? AND action IN ('form_create', 'status_change') ORDER BY seq",
        (instance_id,),
    ):
        value = _load(new_json)
        if action == "form_create" and isinstance(value, dict):
            value = value.get("status")
        if isinstance(value, str) and value in STATUSES and value != FormStatus.LOCKED:
            status = value
    return status


def _replay_value(conn: Connection, instance_id: str, field_id: str, spec: Any) -> str | None:
    """The last value the trail validly gave the field (value events only; forged conflicts ignored)."""
    value: str | None = None
    for action, new_json in conn.exec_driver_sql(
        "SELECT action, new_json FROM audit_event WHERE instance_id = ? AND field_id = ? AND action IN (?, ?, ?) ORDER BY seq",
        (instance_id, field_id, *sorted(registry.VALUE_ACTIONS)),
    ):
        candidate = None if action == "value_clear" else new_json
        if spec is None:
            continue
        try:
            check_value_json(spec, candidate)
        except Refused:
            continue
        value = candidate
    return value


def _write(conn: Connection, instance_id: str, field_id: str, value_json: str | None) -> None:
    if value_json is None:
        conn.exec_driver_sql("DELETE FROM field_value WHERE instance_id = ? AND field_id = ?", (instance_id, field_id))
    else:
        conn.exec_driver_sql(
            "UPDATE field_value SET value_json = ? WHERE instance_id = ? AND field_id = ?",
            (value_json, instance_id, field_id),
        )


def _shown(value_json: str | None) -> str:
    return (
        "cleared (no earlier valid value)" if value_json is None else f"restored the last valid value {value_json[:60]}"
    )


def _load(text: str | None) -> Any:
    try:
        return None if text is None else json.loads(text)
    except ValueError:
        return None


def _get(conn: Connection, key: str) -> str | None:
    row = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (key,)).first()
    return None if row is None else str(row[0])


def _put(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
