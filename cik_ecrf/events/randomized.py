"""A subject randomized by the central server: its randomization number, blinded product code and
time reach every laptop of the site as values of the randomization form (fields set by the server),
and the laptop records the allocation. The arm is never in it: laptops cannot learn it.

Only the server writes it (the change's device is "server"); a laptop that pushes one is refused.
The form instance is created when the laptop has none (its id derives from subject and visit, as a
laptop's own would), so the values land in the same form whichever side started it.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field

from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, need
from .change import Change
from .payloads import Payload, read
from .values import check_value_json, form_at

#: the same namespace the laptop's store derives a non-repeating form's instance id with
INSTANCE_NAMESPACE = uuid.UUID("5b0c1f0e-8a4e-4c57-9a55-0c1e0ecf0005")
SERVER_DEVICE = "server"
VISIT = FORM = "randomization"
FIELDS = ("RANDDTC", "RANDNO", "PRODID")
#: status of a randomization form the event creates: the server filled every field it has
CREATED_STATUS = "complete"


class Randomized(Payload):
    RANDNO: Annotated[str, Field(min_length=1, max_length=40)]
    PRODID: Annotated[str, Field(min_length=1, max_length=40)]
    RANDDTC: Annotated[str, Field(min_length=16, max_length=40)]


def instance_id(subject_id: str) -> str:
    """The randomization form's instance id for a subject, as every laptop derives it."""
    return str(uuid.uuid5(INSTANCE_NAMESPACE, f"{subject_id}/{VISIT}/{FORM}"))


def payload(change: Change) -> Randomized:
    return read(Randomized, change.new_json, "randomized")


def values(body: Randomized) -> dict[str, str]:
    """Field id -> value JSON, as the form stores them."""
    import json

    return {"RANDDTC": json.dumps(body.RANDDTC), "RANDNO": json.dumps(body.RANDNO), "PRODID": json.dumps(body.PRODID)}


def check(study: StudyDefinition, change: Change) -> None:
    need(change.device_id == SERVER_DEVICE, "randomized comes from the server only")
    need(change.subject_id, "randomized without a subject")
    need(change.instance_id == instance_id(change.subject_id or ""), "randomized: not the subject's randomization form")
    form = form_at(study, change.form_id, change.visit_id)
    for field_id, value_json in values(payload(change)).items():
        check_value_json(form.fields[field_id], value_json)


def laptop_apply(state: LaptopState, seq: int, _disposition: str, change: Change) -> None:
    if not state.has_subject(change.subject_id):
        return
    body = payload(change)
    if state.instance_status(change.instance_id) is None:
        state.add_instance(change, CREATED_STATUS, state.study.forms[FORM].version)
    for field_id, value_json in values(body).items():
        state.write_value(seq, change.model_copy(update={"field_id": field_id}), value_json)
    state.set_allocation(change, body.RANDNO, body.PRODID, body.RANDDTC)


EVENT = EventType("randomized", "server", True, None, check, laptop_apply=laptop_apply, doc=__doc__ or "")
