"""The server's notice that a field holds competing values: every laptop marks the field until a
`conflict_resolve`. Only the server writes it; one pushed by a laptop is refused."""

from __future__ import annotations

from typing import Any

from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, need
from .change import Change
from .payloads import ConflictOpened, read
from .values import check_value_json, entered_field

MAX_CANDIDATES = 10
MAX_BODY = 16_000


def payload(change: Change) -> tuple[str | None, list[dict[str, Any]]]:
    body = read(ConflictOpened, change.new_json, "sync_conflict")
    return body.current, [c.model_dump() for c in body.candidates]


def check(study: StudyDefinition, change: Change) -> None:
    need(change.device_id == "server", "sync_conflict comes from the server only")
    spec = entered_field(study, change.form_id, change.visit_id, change.field_id)
    current, candidates = payload(change)
    check_value_json(spec, current)
    for candidate in candidates:
        check_value_json(spec, candidate["value_json"])


def laptop_apply(state: LaptopState, seq: int, _disposition: str, change: Change) -> None:
    if state.instance_status(change.instance_id) is not None:
        current, candidates = payload(change)
        state.write_value(seq, change, current, conflict=True)
        state.open_conflict(seq, change, current, candidates)


EVENT = EventType("sync_conflict", "server", True, None, check, laptop_apply=laptop_apply, doc=__doc__ or "")
