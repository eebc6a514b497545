"""The server's notice that a field holds competing values: every laptop marks the field until a
`conflict_resolve`. Only the server writes it; one pushed by a laptop is refused."""

from __future__ import annotations

from typing import Any

from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, load_json, need
from .change import Change
from .values import check_value_json, entered_field

MAX_CANDIDATES = 10
MAX_BODY = 16_000


def payload(change: Change) -> tuple[str | None, list[dict[str, Any]]]:
    body = load_json(change.new_json, "sync_conflict")
    need(
        isinstance(body, dict) and isinstance(body.get("candidates"), list),
        "sync_conflict: expected {current, candidates}",
    )
    current, candidates = body.get("current"), body["candidates"]
    need(current is None or isinstance(current, str), "sync_conflict: current is a value's JSON text")
    need(
        0 < len(candidates) <= MAX_CANDIDATES and all(isinstance(c, dict) for c in candidates),
        f"sync_conflict: 1 to {MAX_CANDIDATES} candidates",
    )
    return current, candidates


def check(study: StudyDefinition, change: Change) -> None:
    need(change.device_id == "server", "sync_conflict comes from the server only")
    spec = entered_field(study, change.form_id, change.visit_id, change.field_id)
    current, candidates = payload(change)
    check_value_json(spec, current)
    for candidate in candidates:
        value = candidate.get("value_json")
        need(value is None or isinstance(value, str), "sync_conflict: a candidate's value is JSON text")
        check_value_json(spec, value)


def laptop_apply(state: LaptopState, seq: int, _disposition: str, change: Change) -> None:
    if state.instance_status(change.instance_id) is not None:
        current, candidates = payload(change)
        state.write_value(seq, change, current, conflict=True)
        state.open_conflict(seq, change, current, candidates)


EVENT = EventType("sync_conflict", "server", True, None, check, laptop_apply=laptop_apply, doc=__doc__ or "")
