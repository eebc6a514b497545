"""A form instance started at a visit. Non-repeating forms have one instance per subject and visit
(its id derives from them), so the same form started on two laptops merges instead of doubling."""

from __future__ import annotations

from ..core.roles import ENTRY_ROLES
from ..core.status import FROZEN_STATUSES
from ..definitions.spec import StudyDefinition
from .base import APPLIED, MERGED, EventType, LaptopState, Outcome, Refused, ServerState, need
from .change import Change
from .payloads import FormCreated, read
from .values import form_at


def payload(change: Change) -> tuple[str, str]:
    body = read(FormCreated, change.new_json, "form_create")
    return body.status, body.version


def check(study: StudyDefinition, change: Change) -> None:
    need(change.instance_id and change.subject_id, "form_create without instance and subject")
    form_at(study, change.form_id, change.visit_id)
    payload(change)


def server_apply(state: ServerState, change: Change) -> Outcome:
    status, version = payload(change)
    instance = state.instance(change.instance_id)
    if instance is not None:
        if (instance["subject_id"], instance["visit_id"], instance["form_id"]) != (
            change.subject_id,
            change.visit_id,
            change.form_id,
        ):
            raise Refused(f"form instance {change.instance_id} is another subject's or visit's form")
        if status != instance["status"] and instance["status"] not in FROZEN_STATUSES:
            state.set_status(instance, status)
        return MERGED
    if state.subject(change.subject_id) is None:
        raise Refused(f"subject {change.subject_id} is unknown on the server")
    state.add_instance(
        {
            "id": change.instance_id,
            "subject_id": change.subject_id,
            "visit_id": change.visit_id,
            "form_id": change.form_id,
            "status": status,
            "site_code": state.site,
        }
    )
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, disposition: str, change: Change) -> None:
    status, version = payload(change)
    current = state.instance_status(change.instance_id)
    if current is None:
        if state.has_subject(change.subject_id):
            state.add_instance(change, status, version)
    elif disposition == "merged" and current not in FROZEN_STATUSES and current != status:
        state.set_status(change, status)


EVENT = EventType("form_create", "laptop", True, ENTRY_ROLES, check, server_apply, laptop_apply, __doc__ or "")
