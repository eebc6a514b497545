"""A change's time must be an ISO 8601 time with its offset, whoever sent it and however often the same
text comes (the check is cached: a form's fields share one time)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from cik_ecrf.events.change import Change

BASE: dict[str, Any] = {
    "id": "c-1",
    "device_id": "d-1",
    "device_seq": 1,
    "username": "nurse1",
    "utc_offset_min": 480,
    "action": "value_set",
}


@pytest.mark.parametrize(
    "at_utc", ["2026-01-01T02:00:00+00:00", "2026-01-01T10:00:00.123456+08:00", "2026-01-01T02:00:00Z"]
)
def test_a_time_with_its_offset_is_taken_every_time(at_utc: str) -> None:
    for _ in range(2):
        assert Change.model_validate({**BASE, "at_utc": at_utc}).at_utc == at_utc


@pytest.mark.parametrize("at_utc", ["2026-01-01T02:00:00", "yesterday", "2026-13-01T00:00:00+00:00", "+08:00"])
def test_a_time_without_an_offset_or_not_a_time_is_refused_every_time(at_utc: str) -> None:
    for _ in range(2):  # the second answer comes from the cache: the same refusal
        with pytest.raises(ValidationError, match="at_utc: expected an ISO 8601 time with its UTC offset"):
            Change.model_validate({**BASE, "at_utc": at_utc})
