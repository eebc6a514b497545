"""A query answered or closed is opened again, with a reason: the answer does not settle it."""

from __future__ import annotations

from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, LaptopState, Outcome, ServerState
from .change import Change
from .monitoring import QueryStep, laptop_step, payload_of, server_step


def check(_study: StudyDefinition, change: Change) -> None:
    payload_of(QueryStep, change)


def server_apply(state: ServerState, change: Change) -> Outcome:
    server_step(state, change, "reopen")
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    laptop_step(state, change, "reopen")


# roles: the query table (core/queries.py) decides, with the server's record of the user's role
EVENT = EventType("query_reopen", "laptop", True, None, check, server_apply, laptop_apply, __doc__ or "")
