"""An investigator's electronic signature over a form, a visit or a casebook. The server records
which instances it covers; only then may they be `signed`. The signature itself (meaning, hash,
printed name) stays in the signing laptop's store and the central trail."""

from __future__ import annotations

from ..core.roles import SIGNER_ROLES
from ..core.status import FormStatus
from ..definitions.spec import StudyDefinition
from .base import EventType, Outcome, Refused, ServerState, need
from .change import Change
from .payloads import SignatureMade, read


def payload(change: Change) -> SignatureMade:
    return read(SignatureMade, change.new_json, "signature")


def check(_study: StudyDefinition, change: Change) -> None:
    need(change.subject_id, "signature without a subject")
    payload(change)


def server_apply(state: ServerState, change: Change) -> Outcome:
    body = payload(change)
    for instance_id in body.instances:
        instance = state.instance(instance_id)
        if instance is None or instance["subject_id"] != change.subject_id:
            raise Refused(f"signature: form instance {instance_id} is not a form of this subject on the server")
        if instance["status"] not in (FormStatus.COMPLETE, FormStatus.SIGNED):
            raise Refused(
                f"signature: {instance['form_id']} at {instance['visit_id']} is {instance['status']}: only complete forms are signed"
            )
    return Outcome("applied", None, state.add_signature(body.signature, list(body.instances)))


EVENT = EventType("signature", "laptop", False, SIGNER_ROLES, check, server_apply, None, __doc__ or "")
