"""A monitor marks source data verified: some fields of a form, a whole form, or every form of a visit
(payload: the instances and, for fields, which). A later change of a verified value drops the mark
(`sdv_dropped`, written by the server)."""

from __future__ import annotations

from ..core.queries import SDV_ROLES
from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, LaptopState, Outcome, Refused, ServerState, need
from .change import Change
from .monitoring import SdvVerified, payload_of


def check(study: StudyDefinition, change: Change) -> None:
    body = payload_of(SdvVerified, change)
    need(change.subject_id and change.visit_id, "sdv_verify: names no subject and visit")
    if body.scope == "field":
        need(body.fields and len(body.instances) == 1, "sdv_verify: field verification names one form and its fields")
        form = study.forms.get(change.form_id or "")
        need(form is not None, f"sdv_verify: {change.form_id!r} is not a form of this study")
        for field in body.fields:
            need(field in form.fields, f"sdv_verify: form {change.form_id} has no field {field}")
    else:
        need(not body.fields, "sdv_verify: a form or visit verification names no fields")
        need(body.scope == "visit" or len(body.instances) == 1, "sdv_verify: a form verification names one form")


def server_apply(state: ServerState, change: Change) -> Outcome:
    role = state.role_of(change.username)
    if role not in SDV_ROLES:
        raise Refused(f"SDV rule: a {role} cannot verify source data (monitors only)")
    body = payload_of(SdvVerified, change)
    for instance_id in body.instances:
        instance = state.instance(instance_id)
        if instance is None or instance["subject_id"] != change.subject_id or instance["visit_id"] != change.visit_id:
            raise Refused(
                f"sdv_verify: form instance {instance_id} is not a form of this subject's visit on the server"
            )
        if body.scope == "field" and instance["form_id"] != change.form_id:
            raise Refused(f"sdv_verify: form instance {instance_id} is not {change.form_id}")
    for instance_id in body.instances:
        state.monitoring().add_sdv(instance_id, list(body.fields) or [""], change.username)
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    state.monitoring().verify(change, payload_of(SdvVerified, change))


EVENT = EventType("sdv_verify", "laptop", True, None, check, server_apply, laptop_apply, __doc__ or "")
