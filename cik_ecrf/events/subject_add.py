"""A subject registered on a laptop: a number assigned once, unique within its site."""

from __future__ import annotations

import re

from ..core.roles import ENTRY_ROLES
from ..definitions.spec import StudyDefinition
from .base import APPLIED, MERGED, EventType, LaptopState, Outcome, Refused, ServerState, load_json, need
from .change import Change

#: laptop numbers (SITE-DEVICE-0001) and paper screening numbers (SCR-001): letters, digits, - _ . /
NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")


def number_of(change: Change) -> str:
    number = load_json(change.new_json, "subject number")
    need(
        isinstance(number, str) and NUMBER.match(number),
        f"subject number {str(number)[:50]!r}: 1–40 letters, digits, '-', '_', '.' or '/'",
    )
    return number


def check(_study: StudyDefinition, change: Change) -> None:
    need(change.subject_id, "subject_add without a subject id")
    number_of(change)


def server_apply(state: ServerState, change: Change) -> Outcome:
    number = number_of(change)
    if state.subject(change.subject_id) is not None:
        return MERGED
    if state.number_taken(number):
        given = state.next_own_number(number)  # a restored laptop numbering again (subject_renumbered.py)
        if given is None:
            raise Refused(f"subject number {number} is already taken by another subject of site {state.site}")
        state.add_subject(change.subject_id or "", given)
        return Outcome(
            "applied",
            f"subject number {number} was already taken (this laptop was restored from an older copy): "
            f"registered as {given}",
            after=lambda _seq: state.log_renumbered(change, number, given),
        )
    state.add_subject(change.subject_id or "", number)
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    if not state.has_subject(change.subject_id):
        state.add_subject(change, number_of(change))


EVENT = EventType("subject_add", "laptop", True, ENTRY_ROLES, check, server_apply, laptop_apply, __doc__ or "")
