"""An investigator's electronic signature over a form, a visit or a casebook. The server records
which instances it covers; only then may they be `signed`. The signature itself (meaning, hash,
printed name) stays in the signing laptop's store and the central trail."""

from __future__ import annotations

import re
from typing import Any

from ..core.roles import SIGNER_ROLES
from ..core.status import FormStatus
from ..definitions.spec import StudyDefinition
from .base import EventType, Outcome, Refused, ServerState, load_json, need
from .change import Change

MEANINGS = ("author", "review", "approve")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def payload(change: Change) -> dict[str, Any]:
    body = load_json(change.new_json, "signature")
    need(isinstance(body, dict), "signature: expected an object")
    need(isinstance(body.get("signature"), str) and 0 < len(body["signature"]) <= 36, "signature: no signature id")
    need(body.get("scope") in ("form", "visit", "casebook"), "signature: scope is form, visit or casebook")
    need(body.get("meaning") in MEANINGS, f"signature: meaning is one of {', '.join(MEANINGS)}")
    need(
        isinstance(body.get("content_sha256"), str) and SHA256.match(body["content_sha256"]),
        "signature: content_sha256 is 64 hex digits",
    )
    instances = body.get("instances")
    need(
        isinstance(instances, list)
        and 0 < len(instances) <= 1000
        and all(isinstance(i, str) and 0 < len(i) <= 36 for i in instances),
        "signature: expected the ids of the instances it covers",
    )
    return body


def check(_study: StudyDefinition, change: Change) -> None:
    need(change.subject_id, "signature without a subject")
    payload(change)


def server_apply(state: ServerState, change: Change) -> Outcome:
    body = payload(change)
    for instance_id in body["instances"]:
        instance = state.instance(instance_id)
        if instance is None or instance["subject_id"] != change.subject_id:
            raise Refused(f"signature: form instance {instance_id} is not a form of this subject on the server")
        if instance["status"] not in (FormStatus.COMPLETE, FormStatus.SIGNED):
            raise Refused(
                f"signature: {instance['form_id']} at {instance['visit_id']} is {instance['status']}: only complete forms are signed"
            )
    return Outcome("applied", None, state.add_signature(body["signature"], list(body["instances"])))


EVENT = EventType("signature", "laptop", False, SIGNER_ROLES, check, server_apply, None, __doc__ or "")
