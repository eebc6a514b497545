"""A signature cleared because the data it covers changed. It must name a signature the server holds
over that form, and the change must really touch it: a value of the form changed by this laptop in
the same push, or by another laptop since it was signed."""

from __future__ import annotations

from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, Outcome, Refused, ServerState, need
from .change import Change
from .payloads import SignatureCleared, read


def signature_id(change: Change) -> str:
    return read(SignatureCleared, change.old_json, "signature_cleared").signature


def check(_study: StudyDefinition, change: Change) -> None:
    need(change.instance_id, "signature_cleared without a form instance")
    signature_id(change)


def server_apply(state: ServerState, change: Change) -> Outcome:
    signature = signature_id(change)
    instance = state.instance(change.instance_id)
    if instance is None:
        raise Refused(f"form instance {change.instance_id} is unknown on the server")
    if signature not in state.active_signatures(instance["id"]):
        raise Refused(
            f"{instance['form_id']} at {instance['visit_id']}: signature {signature} is not an active signature of this form on the server"
        )
    if not state.touched_since_signed(change, signature):
        raise Refused(
            f"{instance['form_id']} at {instance['visit_id']}: nothing changed the signed data, so its signature stays"
        )
    state.clear_signature(signature)
    return APPLIED


# any user of the site: the laptop that holds a signature clears it whoever syncs when a pulled change lands
EVENT = EventType("signature_cleared", "laptop", True, None, check, server_apply, None, __doc__ or "")
