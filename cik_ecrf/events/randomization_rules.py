"""What randomization rules out, applied by the server to every pushed change as well as by the laptop.

The randomization form is the server's: its values arrive only with the server's `randomized` event,
so a laptop that starts one (an empty form saved by hand, which once made a subject in screening look
further on than it was) is refused (`definitions.server_forms`).

A laptop's form refuses an infusion for a subject who is not randomized, a product code other than the
randomized one, and a start before the randomization (forms/infusion.json). The server checks single
values only (`values.check_value_json`); these three rules read another form, so they are repeated here
against the server's own copy of the subject's randomization: a laptop that skipped its form (an old
client, a hand-made push) cannot put an infusion on record that the trial forbids.

The messages never name the expected product code (nor, of course, the arm): the refusal says what is
wrong, not what would have been right.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..definitions.server_forms import server_set
from .base import Refused, ServerState
from .change import Change

INFUSION = "infusion"
#: the changes to an infusion this module looks at: starting one, its product code, its start, completing it
GUARDED_FIELDS = frozenset({"PRODID", "INFSTDTC"})


def check(state: ServerState, change: Change) -> None:
    """Refuse a laptop's start of a server-set form, and an infusion change the randomization forbids;
    anything else passes untouched."""
    if change.action == "form_create" and change.form_id in state.study.forms:
        if server_set(state.study.forms[change.form_id]):
            raise Refused(
                f"{change.form_id}: its values are set by the central server when the subject is randomized; "
                "a laptop never starts this form"
            )
    if change.form_id != INFUSION or change.action not in ("form_create", "value_set", "status_change"):
        return
    if change.action == "value_set" and change.field_id not in GUARDED_FIELDS:
        return
    if change.action == "status_change" and _loads(change.new_json) not in ("complete", "signed"):
        return
    instance = state.instance(change.instance_id) if change.instance_id else None
    subject_id = instance["subject_id"] if instance is not None else change.subject_id
    allocation = state.randomization_of(subject_id) if subject_id else None
    if not allocation or not allocation.get("RANDNO") or not allocation.get("PRODID"):
        raise Refused("infusion: the subject is not randomized on the server: the infusion needs a randomization first")
    if change.action != "value_set":
        return
    value = _loads(change.new_json)
    if change.field_id == "PRODID" and value != allocation["PRODID"]:
        raise Refused("PRODID: the product code does not match the randomized product code")
    if change.field_id == "INFSTDTC":
        start, randomized = _moment(value), _moment(allocation.get("RANDDTC"))
        if start is not None and randomized is not None and start < randomized:
            raise Refused("INFSTDTC: the infusion start must not be before randomization")


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return None  # the event's own check has already refused malformed JSON


def _moment(value: Any) -> dt.datetime | None:
    """An ISO datetime with its offset (a value without one is read as UTC, never compared naive)."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
