"""The audit trail's canonical form made by an encoder built once (core/fast_json.py) is, byte for byte,
the json.dumps every existing trail was hashed with: a stored trail verifies as it did."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cik_ecrf.core import fast_json
from cik_ecrf.events.change import CHANGE_FIELDS
from cik_ecrf.store import audit

FIXED: dict[str, Any] = {
    "id": "5a1c8e4e-0b7e-4f43-9d55-0c1f6a3b2e10",
    "device_id": "d3f0a7c2-1111-4a2b-8c3d-1234567890ab",
    "device_seq": 42,
    "user_id": "u-1",
    "username": "nurse1",
    "role": "nurse",
    "at_utc": "2026-01-01T02:00:00.000000+00:00",
    "utc_offset_min": 480,
    "action": "value_set",
    "subject_id": "s-1",
    "visit_id": "D1",
    "form_id": "vitals",
    "instance_id": "i-1",
    "field_id": "TEMP",
    "old_json": None,
    "new_json": "36.5",
    "reason": "更正 — re-measured",
    "confirmed_json": None,
    "base_version": 7,
    "prev_hash": audit.GENESIS,
}


def plain(event: dict[str, Any]) -> bytes:
    """What audit.canonical was before the encoder was made once (the trail's contract)."""
    return json.dumps(
        {name: event[name] for name in audit.HASHED}, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")


def test_a_fixed_event_hashes_as_before() -> None:
    assert audit.canonical(FIXED) == plain(FIXED)
    expected = hashlib.sha256(audit.GENESIS.encode() + plain(FIXED)).hexdigest()
    assert audit.event_hash(FIXED) == expected


text = st.text(max_size=30) | st.sampled_from(["", "é", "中文", "😀", '"', "\\", "\n\t\x00\x1f\x7f", "\u2028"])
value = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | text | st.floats()


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({name: value for name in audit.HASHED}))
def test_generated_events_encode_as_json_dumps(event: dict[str, Any]) -> None:
    assert audit.canonical(event) == plain(event)


def test_what_json_dumps_refuses_is_refused_alike() -> None:
    for bad in ("\ud800", b"bytes", {1, 2}):
        event = dict(FIXED, reason=bad)
        with pytest.raises(Exception) as before:
            plain(event)
        with pytest.raises(type(before.value)):
            audit.canonical(event)


def test_without_the_c_encoder_json_dumps_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    assert fast_json.c_encoder((",", ":"), sort_keys=True) is None
    dumps = fast_json.dumps((",", ":"), sort_keys=True)
    assert dumps({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


def test_a_pulled_events_fields_are_exactly_the_hashed_ones() -> None:
    """The pull hashes a change's CHANGE_FIELDS and its link (`audit.hash_of`): the same as `event_hash`."""
    assert [*CHANGE_FIELDS, "prev_hash"] == audit.HASHED
    assert audit.hash_of(dict(FIXED)) == audit.event_hash(FIXED)
