"""A subject's treatment was unblinded: in an emergency, by an investigator online, or with the
pharmacy's printed code-break sheet while the server was out of reach (recorded afterwards). Every
laptop of the site marks the subject as unblinded. It carries neither the arm nor the reason (free
text could name the arm): both stay on the server, where the data manager lists them."""

from __future__ import annotations

from typing import Literal

from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, need
from .change import Change
from .payloads import Payload, read


class Unblinded(Payload):
    kind: Literal["emergency", "codebreak_sheet"]


def payload(change: Change) -> Unblinded:
    return read(Unblinded, change.new_json, "unblinded")


def check(_study: StudyDefinition, change: Change) -> None:
    need(change.device_id == "server", "unblinded comes from the server only")
    need(change.subject_id, "unblinded without a subject")
    need(change.reason is None, "unblinded carries no reason text (it stays on the server)")
    payload(change)


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    if state.has_subject(change.subject_id):
        state.mark_unblinded(change)


EVENT = EventType("unblinded", "server", True, None, check, laptop_apply=laptop_apply, doc=__doc__ or "")
