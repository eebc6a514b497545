"""A monitor or data manager (or the user who opened it) closes a query: the answer settles it, or it was raised in error."""

from __future__ import annotations

from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, LaptopState, Outcome, ServerState
from .change import Change
from .monitoring import QueryStep, laptop_step, payload_of, server_step


def check(_study: StudyDefinition, change: Change) -> None:
    payload_of(QueryStep, change)


def server_apply(state: ServerState, change: Change) -> Outcome:
    server_step(state, change, "close")
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    laptop_step(state, change, "close")


# roles: the query table (core/queries.py) decides, with the server's record of the user's role
EVENT = EventType("query_close", "laptop", True, None, check, server_apply, laptop_apply, __doc__ or "")
