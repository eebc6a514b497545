"""The server's notice that it registered a subject under another number than the laptop gave.

Only one case: a laptop restored from an older copy hands out subject numbers of its own pattern
(SITE-DEVICE-NNNN) again before it learns of the restore, so a subject entered in that window
arrives with a number the server already holds for another subject. The subject's signed
`subject_add` cannot change; the server keeps it as sent, registers the subject under the next free
number of that laptop's pattern, and writes this event so every laptop of the site shows the same
number. The restored laptop itself has already moved the subject there (store/restore.py), by the same rule.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, Refused, load_json, need
from .change import Change
from .subject_add import NUMBER


class Renumbered(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    given: str  # the number the laptop gave, taken by another subject
    number: str  # the number the server registered the subject under


def payload(change: Change) -> Renumbered:
    try:
        body = Renumbered.model_validate(load_json(change.new_json, "subject_renumbered"))
    except ValueError as exc:
        raise Refused(f"subject_renumbered: {exc}") from None
    need(bool(NUMBER.match(body.number)) and bool(NUMBER.match(body.given)), "subject_renumbered: not subject numbers")
    return body


def check(_study: StudyDefinition, change: Change) -> None:
    need(change.device_id == "server", "subject_renumbered comes from the server only")
    need(change.subject_id, "subject_renumbered without a subject id")
    payload(change)


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    if state.has_subject(change.subject_id):
        state.renumber_subject(change, payload(change).number)


EVENT = EventType("subject_renumbered", "server", True, None, check, laptop_apply=laptop_apply, doc=__doc__ or "")
