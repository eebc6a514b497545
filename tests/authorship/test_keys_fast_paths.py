"""The device chain's step and the seal check's key cache give exactly what the plain code gives.

Laptops and the server compute the same chain, each with the version of `core.keys` it runs: a step
that encoded one event differently would make a laptop's honest history look rewritten. So the fast
step is compared with the plain one it replaced (kept here as it was) over many generated events,
unicode and None values included, and with a hash the plain step gave for a fixed event.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cik_ecrf.core import keys


def plain_step(previous: str, event: Any) -> str:
    """`keys.chain_step` as it was before the fast path (7d7133b)."""
    body = json.dumps([event.get(name) for name in keys.CHAINED], ensure_ascii=False)
    return hashlib.sha256(previous.encode("ascii") + body.encode("utf-8")).hexdigest()


def plain_chain(previous: str, events: list[Any]) -> str:
    for event in events:
        previous = plain_step(previous, event)
    return previous


FIXED = {
    "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "device_id": "d7a1c1a8-2b7e-4a5e-9a3b-0c1d2e3f4a5b",
    "device_seq": 42,
    "user_id": None,
    "username": "nurse0",
    "role": "nurse",
    "at_utc": "2026-11-26T20:00:00.123456+08:00",
    "utc_offset_min": 480,
    "action": "field_set",
    "subject_id": "s-1",
    "visit_id": "D1",
    "form_id": "vitals",
    "instance_id": "i-1",
    "field_id": "NOTE",
    "old_json": None,
    "new_json": json.dumps('发热 38.5℃ "高"\n', ensure_ascii=False),
    "reason": "Corrigé — 更正",
    "confirmed_json": None,
    "base_version": 3,
}

# what a pushed change's fields hold once its JSON is read (and what a hostile laptop could send instead)
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)  # no lone surrogates
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
    st.sampled_from(["", "é", "中文", "😀", '"', "\\", "\n\t\x00\x1f\x7f", "\u2028\u2029", "\ufeff"]),
)
value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3))
event = st.dictionaries(st.sampled_from([*keys.CHAINED, "extra", "digest"]), value)  # some fields missing


def test_the_fast_encoder_is_the_one_in_use() -> None:
    """On CPython the chain step runs the fast encoder, so the comparisons below test it, not the fallback."""
    assert keys._encode_chained is not keys._canonical_json


def test_a_fixed_event_hashes_as_the_plain_step_made_it() -> None:
    expected = "5e41d3d0bbd032dc8af68c71f5e575ac9733c88ff8e57ef0b59c78f2f88cd46e"  # the plain step, at 7d7133b
    assert plain_step(keys.GENESIS, FIXED) == expected
    assert keys.chain_step(keys.GENESIS, FIXED) == expected


@settings(max_examples=300, deadline=None)
@given(previous=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64), event=event)
def test_generated_events_step_as_the_plain_step(previous: str, event: dict[str, Any]) -> None:
    assert keys.chain_step(previous, event) == plain_step(previous, event)


@settings(max_examples=30, deadline=None)
@given(events=st.lists(event, max_size=40))
def test_generated_histories_chain_as_the_plain_chain(events: list[dict[str, Any]]) -> None:
    assert keys.chain(keys.GENESIS, events) == plain_chain(keys.GENESIS, events)


def test_many_realistic_events_chain_as_the_plain_chain() -> None:
    values: list[Any] = [36.5, 80, "NONE", "2026-01-01T10:00+08:00", None, "", "未知", "N/A — 不适用", 0.1, -1, True]
    events = []
    for seq in range(1, 5001):
        item = dict(FIXED, device_seq=seq, id=f"id-{seq}", field_id=f"F{seq % 13}")
        item["new_json"] = json.dumps(values[seq % len(values)], ensure_ascii=False)
        item["old_json"] = None if seq % 3 else json.dumps(values[(seq + 1) % len(values)])
        item["reason"] = None if seq % 5 else f"更正 {seq}"
        item["base_version"] = None if seq % 7 == 0 else seq // 2
        events.append(item)
    heads = [keys.GENESIS]
    for item in events:
        heads.append(keys.chain_step(heads[-1], item))
    assert heads[-1] == plain_chain(keys.GENESIS, events)
    assert heads[100] == plain_chain(keys.GENESIS, events[:100])


def test_what_the_plain_step_refuses_the_fast_step_refuses_alike() -> None:
    for bad in ({"reason": "\ud800"}, {"reason": b"bytes"}, {"new_json": {1, 2}}):
        with pytest.raises(Exception) as plain:
            plain_step(keys.GENESIS, bad)
        with pytest.raises(type(plain.value)):
            keys.chain_step(keys.GENESIS, bad)
    assert keys.chain_step(keys.GENESIS, FIXED) == plain_step(keys.GENESIS, FIXED)  # nothing left behind
    with pytest.raises(UnicodeEncodeError):
        keys.chain_step("é" * 64, FIXED)  # the previous step is ASCII hex, as before


def test_the_encoder_falls_back_to_json_dumps_without_the_c_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    assert keys._list_encoder() is keys._canonical_json


def test_verify_with_cached_keys_answers_as_before() -> None:
    alice, bob = keys.generate("alice"), keys.generate("bob")
    message = keys.seal_message("device", 1, 12, keys.GENESIS, "f" * 64)
    signature = alice.sign(message)
    for _ in range(2):  # the second time from the cache
        assert keys.verify(alice.public.sign, message, signature)
        assert not keys.verify(alice.public.sign, message + b"x", signature)
        assert not keys.verify(bob.public.sign, message, signature)
        assert not keys.verify(alice.public.sign, message, bob.sign(message))
        assert not keys.verify("not base64!", message, signature)
        assert not keys.verify(keys.b64(b"short"), message, signature)
        assert not keys.verify(alice.public.sign, message, "not base64!")
