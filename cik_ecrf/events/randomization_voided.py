"""A randomization marked by a data manager as made in error. Laptops mark the allocation void and
clear the randomization form's server-set values (the audit trail keeps them); the slot is never
used again, and a new randomization of the subject needs the data manager's explicit decision,
which `allow_again` records (the server audits it). The reason stays on the server."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, need
from .change import Change
from .payloads import Payload, read
from .randomized import FIELDS, instance_id


class Voided(Payload):
    RANDNO: Annotated[str, Field(min_length=1, max_length=40)]
    allow_again: bool = False


def payload(change: Change) -> Voided:
    return read(Voided, change.new_json, "randomization_voided")


def check(_study: StudyDefinition, change: Change) -> None:
    need(change.device_id == "server", "randomization_voided comes from the server only")
    need(change.subject_id, "randomization_voided without a subject")
    need(change.instance_id == instance_id(change.subject_id or ""), "randomization_voided: not the subject's form")
    need(change.reason is None, "randomization_voided carries no reason text (it stays on the server)")
    payload(change)


def laptop_apply(state: LaptopState, seq: int, _disposition: str, change: Change) -> None:
    if not state.has_subject(change.subject_id):
        return
    body = payload(change)
    if state.instance_status(change.instance_id) is not None:
        for field_id in FIELDS:
            state.write_value(seq, change.model_copy(update={"field_id": field_id}), None)
    state.mark_voided(change, body.RANDNO)


EVENT = EventType("randomization_voided", "server", True, None, check, laptop_apply=laptop_apply, doc=__doc__ or "")
