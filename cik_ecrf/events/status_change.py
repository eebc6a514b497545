"""A form's status moved by a save or by signing. The state machine (core/status.py) is the server's:
a laptop moves a form between draft and complete; `signed` follows only a signature the server
accepted; nothing from a laptop locks a form."""

from __future__ import annotations

from ..core.roles import ENTRY_ROLES
from ..core.status import SAVE_TRANSITIONS, STATUSES, FormStatus
from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, LaptopState, Outcome, Refused, ServerState, load_json, need
from .change import Change
from .values import form_at


def new_status(change: Change) -> str:
    status = load_json(change.new_json, "status_change")
    need(
        isinstance(status, str) and status in STATUSES,
        f"status_change: {str(status)[:40]!r} is not a form status ({', '.join(STATUSES)})",
    )
    return status


def check(study: StudyDefinition, change: Change) -> None:
    need(change.instance_id, "status_change without a form instance")
    form_at(study, change.form_id, change.visit_id)
    if new_status(change) == FormStatus.LOCKED:  # locks are the server's own events, never a status change
        raise Refused(
            f"{change.form_id} at {change.visit_id}: a laptop cannot lock a form (locks are the data manager's, on the server)"
        )


def server_apply(state: ServerState, change: Change) -> Outcome:
    status = new_status(change)
    instance = state.instance(change.instance_id)
    if instance is None:
        raise Refused(f"form instance {change.instance_id} is unknown on the server")
    current = instance["status"]
    where = f"{instance['form_id']} at {instance['visit_id']}"
    if status == FormStatus.LOCKED:
        raise Refused(f"{where}: a laptop cannot lock a form (locks are the data manager's, on the server)")
    if status == FormStatus.SIGNED:
        if current != FormStatus.SIGNED or not state.active_signatures(instance["id"]):
            raise Refused(f"{where}: signed only by a signature the server holds (it is {current})")
        return APPLIED
    if current == FormStatus.LOCKED:
        raise Refused(f"{where} is locked: its status cannot change")
    if current == FormStatus.SIGNED:
        if state.active_signatures(instance["id"]):
            state.refuse_edits(instance)
            raise Refused(f"{where} is signed: clear its signature before changing it")
        current = FormStatus.COMPLETE.value
    if state.edit_refused(instance):
        raise Refused(f"{where}: its status cannot change with an edit that was refused")
    if (current, status) not in SAVE_TRANSITIONS:
        raise Refused(f"{where}: {current} cannot become {status}")
    state.set_status(instance, status)
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    if state.instance_status(change.instance_id) is not None:
        state.set_status(change, new_status(change))


EVENT = EventType(
    "status_change", "laptop", True, ENTRY_ROLES | {"investigator"}, check, server_apply, laptop_apply, __doc__ or ""
)
