"""Form statuses and the one state machine they follow, on laptops and on the server.

draft ⇄ complete → signed → complete (a signature cleared by a change)
locked is set by the data manager's lock (monitoring) and is never reached from a laptop's save.
"""

from __future__ import annotations

from enum import StrEnum


class FormStatus(StrEnum):
    DRAFT = "draft"
    COMPLETE = "complete"
    SIGNED = "signed"
    LOCKED = "locked"


STATUSES: tuple[str, ...] = tuple(s.value for s in FormStatus)
#: statuses a laptop's save may set directly
SAVE_STATUSES = frozenset({FormStatus.DRAFT.value, FormStatus.COMPLETE.value})
#: statuses no edit may pass
FROZEN_STATUSES = frozenset({FormStatus.SIGNED.value, FormStatus.LOCKED.value})

#: (from, to) pairs a `status_change` event may make; signing and clearing a signature are their own events
SAVE_TRANSITIONS = frozenset(
    {
        ("draft", "complete"),
        ("complete", "draft"),
        ("draft", "draft"),
        ("complete", "complete"),
    }
)
