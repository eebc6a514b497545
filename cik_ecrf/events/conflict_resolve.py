"""A field in conflict closed with a chosen value and a reason, by someone who saw the conflict
(`base_version` is the conflict's place in the server's log)."""

from __future__ import annotations

from ..core.roles import RESOLVER_ROLES
from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, Outcome, ServerState, need
from .change import Change
from .value_set import check as check_value
from .value_set import target


def check(study: StudyDefinition, change: Change) -> None:
    check_value(study, change)
    need(change.base_version is not None, f"{change.field_id}: a resolution names the conflict it closes")
    need(change.reason and change.reason.strip(), f"{change.field_id}: resolving a conflict needs a reason")


def server_apply(state: ServerState, change: Change) -> Outcome:
    return state.value_outcome(change, target(state, change), change.new_json)


def laptop_apply(state: LaptopState, seq: int, _disposition: str, change: Change) -> None:
    if state.instance_status(change.instance_id) is not None:
        state.write_value(seq, change, change.new_json)
        state.close_conflict(change, change.base_version or 0)


EVENT = EventType("conflict_resolve", "laptop", True, RESOLVER_ROLES, check, server_apply, laptop_apply, __doc__ or "")
