"""A field's value entered or corrected. The server reads it with the field's own typed reader and
hard checks, so a value no laptop form could store never reaches another laptop."""

from __future__ import annotations

from ..core.roles import ENTRY_ROLES
from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, Outcome, Refused, ServerState, need
from .change import Change
from .values import check_value_json, entered_field


def check(study: StudyDefinition, change: Change) -> None:
    need(change.instance_id, f"{change.action} without a form instance")
    spec = entered_field(study, change.form_id, change.visit_id, change.field_id)
    if change.action == "value_clear":
        need(change.new_json is None, f"{change.field_id}: value_clear carries no new value")
    elif change.action == "value_set":
        need(
            change.new_json is not None,
            f"{change.field_id}: value_set without a value (a cleared field is value_clear)",
        )
    check_value_json(spec, change.new_json)


def target(state: ServerState, change: Change) -> dict:
    """The instance a value change writes into, refusing one that is not there, not this form, or frozen."""
    instance = state.instance(change.instance_id)
    if instance is None:
        raise Refused(f"form instance {change.instance_id} is unknown on the server")
    if (instance["subject_id"], instance["visit_id"], instance["form_id"]) != (
        change.subject_id,
        change.visit_id,
        change.form_id,
    ):
        raise Refused(
            f"{change.field_id}: form instance {change.instance_id} is {instance['form_id']} at {instance['visit_id']}, not {change.form_id} at {change.visit_id}"
        )
    if state.edit_refused(instance):
        raise Refused(f"{instance['form_id']} at {instance['visit_id']} is {instance['status']}: it cannot be changed")
    return instance


def server_apply(state: ServerState, change: Change) -> Outcome:
    instance = target(state, change)
    return state.value_outcome(change, instance, change.new_json)


def laptop_apply(state: LaptopState, seq: int, _disposition: str, change: Change) -> None:
    if state.instance_status(change.instance_id) is not None:
        state.write_value(seq, change, change.new_json)


EVENT = EventType("value_set", "laptop", True, ENTRY_ROLES, check, server_apply, laptop_apply, __doc__ or "")
