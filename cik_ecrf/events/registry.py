"""The one registry of event types: store, sync client and server derive their action sets from it.

Adding an event type: write its module beside these (payload checks, roles, how the server applies
it, how a laptop applies it), add it to `_MODULES`, and test it.
"""

from __future__ import annotations

from . import (
    audit_only,
    conflict_resolve,
    form_create,
    instance_upgraded,  # study versions
    query_answer,  # monitoring
    query_close,  # monitoring
    query_open,  # monitoring
    query_reopen,  # monitoring
    query_server,  # monitoring
    randomization_voided,  # randomization
    randomized,  # randomization
    record_lock,  # monitoring
    record_unlock,  # monitoring
    sdv_dropped,  # monitoring
    sdv_verify,  # monitoring
    signature,
    signature_cleared,
    status_change,
    subject_add,
    subject_renumbered,  # restored laptops
    sync_conflict,
    unblinded,  # randomization
    value_clear,
    value_set,
    warnings_confirmed,
)
from .base import EventType

_MODULES = (
    subject_add,
    form_create,
    value_set,
    value_clear,
    conflict_resolve,
    status_change,
    *(query_open, query_answer, query_close, query_reopen, query_server),  # monitoring
    *(sdv_verify, sdv_dropped, record_lock, record_unlock),  # monitoring
    warnings_confirmed,
    signature,
    signature_cleared,
    sync_conflict,
    randomized,  # randomization: server-authored, pulled by the site's laptops
    unblinded,
    randomization_voided,
    instance_upgraded,  # study versions: an instance moved to the newest form version
    subject_renumbered,  # a restored laptop's subject number, taken again, registered under the next free one
)

EVENTS: dict[str, EventType] = {m.EVENT.name: m.EVENT for m in _MODULES} | {e.name: e for e in audit_only.EVENTS}

#: laptop events that change clinical data (pushed, validated, applied, sent to the site's laptops)
DATA_ACTIONS = frozenset(n for n, e in EVENTS.items() if e.data and e.origin == "laptop")
#: events only the server writes
SERVER_ACTIONS = frozenset(n for n, e in EVENTS.items() if e.origin == "server")
#: what a pull sends to laptops
PULLED_ACTIONS = frozenset(n for n, e in EVENTS.items() if e.data)
#: changes that write one field's value
VALUE_ACTIONS = frozenset({"value_set", "value_clear", "conflict_resolve"})
#: every event a laptop may write
LAPTOP_ACTIONS = frozenset(n for n, e in EVENTS.items() if e.origin == "laptop")


def event(action: str) -> EventType | None:
    return EVENTS.get(action)
