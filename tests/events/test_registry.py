"""The registry of event types: one declaration per type, action sets derived from it, and the same
payload checks on laptop and server (these run without a server: the live-server attacks are in
tests/server/test_authority.py)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from cik_ecrf.events import registry
from cik_ecrf.events.base import Refused
from cik_ecrf.events.change import Change
from cik_ecrf.store import audit
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.store.errors import ValidationFailed
from cik_ecrf.sync import protocol
from tests.stores import store_with_nurse

NURSE = ("nurse.li", "First-pass-2026", "Ward-night-2026")


def change(action: str, **fields: Any) -> Change:
    base = {
        "id": str(uuid.uuid4()),
        "device_id": str(uuid.uuid4()),
        "device_seq": 1,
        "username": "nurse.li",
        "at_utc": "2026-11-01T00:00:00+00:00",
        "utc_offset_min": 480,
    }
    return Change(action=action, **{**base, **fields})


def vitals(field: str, value_json: str | None, action: str = "value_set", visit: str = "D1") -> Change:
    return change(
        action, subject_id="s", visit_id=visit, form_id="vitals", instance_id="i", field_id=field, new_json=value_json
    )


def test_every_type_is_declared_once_and_the_action_sets_derive_from_the_registry() -> None:
    names = list(registry.EVENTS)
    assert len(names) == len(set(names))
    assert {"sync_conflict", "query_server", "sdv_dropped"} <= registry.SERVER_ACTIONS  # monitoring: two more
    assert registry.PULLED_ACTIONS == registry.DATA_ACTIONS | registry.SERVER_ACTIONS
    assert protocol.DATA_ACTIONS is registry.DATA_ACTIONS and protocol.PULLED_ACTIONS is registry.PULLED_ACTIONS
    assert {
        "subject_add",
        "form_create",
        "value_set",
        "value_clear",
        "status_change",
        "conflict_resolve",
    } <= registry.DATA_ACTIONS
    assert "login" in registry.LAPTOP_ACTIONS and "login" not in registry.PULLED_ACTIONS
    for event in registry.EVENTS.values():
        assert event.doc.strip(), f"{event.name} says why it exists"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("HR", "5000", "above the maximum"),
        ("HR", '"fast"', "HR"),
        ("HR", "{{{", "not valid JSON"),
        ("HR", '{"a": 1}', "not a single value"),
        ("O2SUPP", '"ZZ"', "not one of the codes"),
        ("VSDAT", '"2026-02-30T10:00+08:00"', "not a valid date"),
        ("BSA", "1.2", "derived"),
        ("NOSUCH", "1", "has no field NOSUCH"),
        ("HEIGHT", "150", "not collected at visit D1"),
    ],
)
def test_values_a_form_could_not_hold_are_refused(study: Any, field: str, value: str, fragment: str) -> None:
    with pytest.raises(Refused, match=None) as refused:
        registry.EVENTS["value_set"].check(study, vitals(field, value))
    assert fragment in str(refused.value)


def test_valid_values_and_soft_range_values_pass(study: Any) -> None:
    for field, value in (("HR", "80"), ("TEMP", "39.9"), ("O2SUPP", '"NONE"'), ("VSDAT", '"2026-01-01T10:00+08:00"')):
        registry.EVENTS["value_set"].check(study, vitals(field, value))
    registry.EVENTS["value_clear"].check(study, vitals("HR", None, "value_clear"))
    registry.EVENTS["value_set"].check(study, vitals("HEIGHT", "150", visit="screening"))


@pytest.mark.parametrize("status", ['"locked"', '"signed"', '{"a": 1}', '"x' + "y" * 30 + '"', "{{{"])
def test_status_changes_carry_a_status_and_only_the_server_state_machine_decides(study: Any, status: str) -> None:
    event = change("status_change", subject_id="s", visit_id="D1", form_id="vitals", instance_id="i", new_json=status)
    if status == '"signed"':
        registry.EVENTS["status_change"].check(study, event)  # a known status: the server's state decides
    else:
        with pytest.raises(Refused):
            registry.EVENTS["status_change"].check(study, event)


def test_a_sync_conflict_from_a_laptop_is_refused_even_well_formed(study: Any) -> None:
    body = json.dumps({"current": "80", "candidates": [{"value_json": "90"}]})
    forged = change(
        "sync_conflict", subject_id="s", visit_id="D1", form_id="vitals", instance_id="i", field_id="HR", new_json=body
    )
    with pytest.raises(Refused, match="server only"):
        registry.EVENTS["sync_conflict"].check(study, forged)


def test_the_laptop_writes_only_declared_event_types_and_refuses_what_it_could_not_send(
    tmp_path: Path, study: Any
) -> None:
    store_with_nurse(tmp_path, study, "AAAA", ("admin", "Site-key-2026x"), NURSE)
    with Store.open(tmp_path, NURSE[0], NURSE[2], study=study) as store:
        number = store.add_subject()
        with pytest.raises(ValidationFailed, match="HEIGHT: is not collected at visit D1"):
            store.save(SaveRequest(number, "D1", "vitals", {"HEIGHT": 150}))
        with store.unit_of_work() as session:
            chain = audit.Chain(session)
            with pytest.raises(ValueError, match="not an event type"):
                chain.append(store.actor, "make_me_admin")
            with pytest.raises(audit.StoreError, match="too long"):
                chain.append(store.actor, "value_set", field_id="INITIALS", new_json='"' + "x" * 100_001 + '"')
