"""The server's own query moves: it opens a query when it records a sync conflict (one per field, never
twice while one is active), answers it when the conflict is resolved, and marks a closed query
closed_modified when the data under it changes. Only the server writes it; laptops apply it."""

from __future__ import annotations

from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, need
from .change import Change
from .monitoring import ServerQueryStep, payload_of


def check(_study: StudyDefinition, change: Change) -> None:
    need(change.device_id == "server", "query_server comes from the server only")
    body = payload_of(ServerQueryStep, change)
    need(body.transition != "conflict_open" or body.scope is not None, "query_server: an opening names its scope")


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    body = payload_of(ServerQueryStep, change)
    if body.transition == "conflict_open":
        state.monitoring().open_query(change, body)
    else:
        state.monitoring().step_query(change, body.transition, body.text, False)


EVENT = EventType("query_server", "server", True, None, check, laptop_apply=laptop_apply, doc=__doc__ or "")
