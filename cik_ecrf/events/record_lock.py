"""A data manager locks a form, a visit or a subject: from then on the server refuses every edit of
what it covers from every device, and a laptop that has pulled the lock refuses them offline."""

from __future__ import annotations

from ..core.queries import LOCK_ROLES
from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, LaptopState, Outcome, Refused, ServerState
from .change import Change
from .monitoring import lock_scope


def check(study: StudyDefinition, change: Change) -> None:
    _subject, visit, form = lock_scope(change)
    if visit and visit not in study.visit_ids():
        raise Refused(f"{change.action}: {visit!r} is not a visit of this study")
    if form and form not in study.forms_at(visit):
        raise Refused(f"{change.action}: form {form} is not collected at visit {visit}")


def allowed(state: ServerState, change: Change) -> tuple[str, str, str]:
    role = state.role_of(change.username)
    if role not in LOCK_ROLES:
        verb = change.action.removeprefix("record_")
        raise Refused(f"lock rule: a {role} cannot {verb} (data managers only)")
    if state.subject(change.subject_id) is None:
        raise Refused(f"subject {change.subject_id} is unknown on the server")
    return lock_scope(change)


def server_apply(state: ServerState, change: Change) -> Outcome:
    where = allowed(state, change)
    if state.monitoring().lock_at(*where):
        raise Refused("lock rule: this is locked already")
    state.monitoring().add_lock(*where, change.username)
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    state.monitoring().lock(change, lock_scope(change))


EVENT = EventType("record_lock", "laptop", True, None, check, server_apply, laptop_apply, __doc__ or "")
