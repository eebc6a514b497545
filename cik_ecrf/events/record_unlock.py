"""A data manager unlocks what they locked, with a reason. Every signature over what was unlocked is
voided (the server clears it; each laptop clears its copy as it applies the unlock): unlocked data
must be signed again once it is final."""

from __future__ import annotations

from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, LaptopState, Outcome, Refused, ServerState
from .change import Change
from .monitoring import lock_scope
from .record_lock import allowed
from .record_lock import check as check_lock


def check(study: StudyDefinition, change: Change) -> None:
    check_lock(study, change)
    if not (change.reason and change.reason.strip()):
        raise Refused("lock rule: unlocking needs a reason")


def server_apply(state: ServerState, change: Change) -> Outcome:
    where = allowed(state, change)
    if not state.monitoring().lock_at(*where):
        raise Refused("lock rule: there is no such lock to unlock")
    for instance_id in state.monitoring().remove_lock(*where):
        for signature in sorted(state.active_signatures(instance_id)):
            state.clear_signature(signature)
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    state.monitoring().unlock(change, lock_scope(change))


EVENT = EventType("record_unlock", "laptop", True, None, check, server_apply, laptop_apply, __doc__ or "")
