"""A form instance moved to the newest version of its form after a protocol amendment, with a reason.

Its values are carried over by the published mapping: the laptop writes the upgrade, then a value
change for each value the mapping renamed or recoded (checked under the new version like any entry).
Fields the new version no longer has are dropped from the instance; their values stay in the trail.
The instance's own version is the only thing this event changes.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..core.roles import ENTRY_ROLES
from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, LaptopState, Outcome, Refused, ServerState, need
from .change import Change
from .payloads import Payload, read

MAX_REASON = 500


class InstanceUpgraded(Payload):
    from_version: Annotated[str, Field(min_length=1, max_length=20)]
    to_version: Annotated[str, Field(min_length=1, max_length=20)]
    study_version: Annotated[int, Field(ge=1)]
    dropped: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=500)] = []


def payload(change: Change) -> InstanceUpgraded:
    return read(InstanceUpgraded, change.new_json, "instance_upgraded")


def check(study: StudyDefinition, change: Change) -> None:
    """Checked against the newest version (the one the instance moves to)."""
    need(change.instance_id and change.subject_id, "instance_upgraded without instance and subject")
    body = payload(change)
    need(change.reason and change.reason.strip(), "instance_upgraded: a reason is required")
    form = study.forms.get(change.form_id or "")
    if form is None:
        raise Refused(f"form {change.form_id} is not in the newest study version")
    if body.to_version != form.version:
        raise Refused(f"form {change.form_id}: version {body.to_version} is not its newest ({form.version})")
    for field_id in body.dropped:
        need(field_id not in form.fields, f"{field_id}: is still in form {change.form_id} {form.version}")


def server_apply(state: ServerState, change: Change) -> Outcome:
    body = payload(change)
    instance = state.instance(change.instance_id)
    if instance is None:
        raise Refused(f"form instance {change.instance_id} is unknown on the server")
    if (instance["subject_id"], instance["visit_id"], instance["form_id"]) != (
        change.subject_id,
        change.visit_id,
        change.form_id,
    ):
        raise Refused(f"form instance {change.instance_id} is another subject's or visit's form")
    if state.edit_refused(instance):
        raise Refused(f"{instance['form_id']} at {instance['visit_id']} is {instance['status']}: it cannot be upgraded")
    current = state.form_version(instance)
    if current != body.from_version:
        raise Refused(f"form instance {change.instance_id} is on version {current}, not {body.from_version}")
    state.upgrade_instance(instance, body.to_version, list(body.dropped))
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    if state.instance_status(change.instance_id) is not None:
        body = payload(change)
        state.upgrade_instance(change, body.to_version, list(body.dropped))


EVENT = EventType("instance_upgraded", "laptop", True, ENTRY_ROLES, check, server_apply, laptop_apply, __doc__ or "")
