"""Soft-check warnings confirmed on a form without a value change (the confirmation is audited data)."""

from __future__ import annotations

from ..core.roles import ENTRY_ROLES
from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, Outcome, Refused, ServerState, load_json, need
from .change import Change
from .values import form_at


def check(study: StudyDefinition, change: Change) -> None:
    need(change.instance_id, "warnings_confirmed without a form instance")
    form = form_at(study, change.form_id, change.visit_id)
    confirmed = load_json(change.confirmed_json, "confirmed warnings")
    need(isinstance(confirmed, list) and len(confirmed) <= 500, "confirmed warnings: expected a list of FIELD:check")
    for item in confirmed:
        need(
            isinstance(item, str) and item.split(":", 1)[0] in form.fields,
            f"confirmed warnings: {str(item)[:60]!r} is not FIELD:check of {form.id}",
        )


def server_apply(state: ServerState, change: Change) -> Outcome:
    instance = state.instance(change.instance_id)
    if instance is None:
        raise Refused(f"form instance {change.instance_id} is unknown on the server")
    if state.edit_refused(instance):
        raise Refused(f"{instance['form_id']} at {instance['visit_id']} is {instance['status']}: it cannot be changed")
    return APPLIED


EVENT = EventType("warnings_confirmed", "laptop", True, ENTRY_ROLES, check, server_apply, None, __doc__ or "")
