"""Data queries, source-data verification and locks: the one table of states and of who may do what.

Laptops and the server both read this table (the server decides with its own record of the user's
role; a laptop only spares its user a refused push). It is written as data so that the README's
table, the store's checks, the server's checks and the tests' role × transition matrix are one.

Query life (OpenClinica's semantics):

    open ──answer──▶ answered ──close──▶ closed ──(data changed)──▶ closed_modified
      ▲  ◀──answer── (answered again)        │                          │
      └────────────── reopen (with a reason) ◀┴──────────────────────────┘
    open ──close──▶ closed  (raised in error)

Conflict queries are opened and answered by the server (a sync conflict, and its resolution);
`closed_modified` is set by the server when a value under a closed query changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .roles import Role


class QueryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    CLOSED_MODIFIED = "closed_modified"


QUERY_STATUSES: tuple[str, ...] = tuple(s.value for s in QueryStatus)
#: statuses a worklist shows as needing work
ACTIVE_STATUSES = frozenset({QueryStatus.OPEN.value, QueryStatus.ANSWERED.value})
CLOSED_STATUSES = frozenset({QueryStatus.CLOSED.value, QueryStatus.CLOSED_MODIFIED.value})
#: how a query came to be: raised by a monitor or data manager, a warning an investigator marked for
#: review, or a sync conflict the server recorded
QUERY_KINDS = ("manual", "review", "conflict")
#: what a query is about
QUERY_SCOPES = ("field", "form", "visit")

MONITORS = frozenset({Role.MONITOR.value, Role.DATA_MANAGER.value})
SITE_STAFF = frozenset({Role.NURSE.value, Role.INVESTIGATOR.value})
SERVER = frozenset({"server"})


@dataclass(frozen=True)
class Transition:
    """One move of a query: from which states, to which, by whom, and what it must carry.

    `opener_may`: the user who opened the query may make this move whatever their role (an
    investigator closes the review query they raised)."""

    name: str
    sources: frozenset[str | None]
    target: str
    roles: frozenset[str]
    opener_may: bool = False
    needs_text: bool = False
    needs_reason: bool = False
    doc: str = ""


_O, _A, _C, _M = (s.value for s in QueryStatus)

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition(
            "open", frozenset({None}), _O, MONITORS, needs_text=True, doc="raise a query on a field, form or visit"
        ),
        Transition(
            "open_review",
            frozenset({None}),
            _O,
            frozenset({Role.INVESTIGATOR.value}),
            needs_text=True,
            doc="a confirmed warning marked for the monitor's review",
        ),
        Transition(
            "answer",
            frozenset({_O, _A}),
            _A,
            SITE_STAFF,
            needs_text=True,
            doc="answer with an explanation, or with a correction (a value change with its reason)",
        ),
        Transition(
            "close", frozenset({_O, _A}), _C, MONITORS, opener_may=True, doc="accept the answer (or withdraw the query)"
        ),
        Transition(
            "reopen",
            frozenset({_A, _C, _M}),
            _O,
            MONITORS,
            opener_may=True,
            needs_reason=True,
            doc="the answer does not settle it: open again, with a reason",
        ),
        # the server's own moves
        Transition("conflict_open", frozenset({None}), _O, SERVER, doc="a sync conflict recorded on the field"),
        Transition("conflict_resolved", frozenset({_O, _A}), _A, SERVER, doc="the conflict resolved, with its reason"),
        Transition("modified", frozenset({_C}), _M, SERVER, doc="data under a closed query changed"),
        # study versions: the queried field left the form when its instance moved to a newer version
        Transition("item_removed", frozenset({_O, _A}), _C, SERVER, doc="the item was removed by an amendment"),
    )
}

#: transitions laptops send (each is its own event type); the rest are the server's
USER_TRANSITIONS = ("open", "open_review", "answer", "close", "reopen")

#: who verifies source data, and who locks and unlocks
SDV_ROLES = frozenset({Role.MONITOR.value})
LOCK_ROLES = frozenset({Role.DATA_MANAGER.value})
SDV_SCOPES = ("field", "form", "visit")
LOCK_SCOPES = ("form", "visit", "subject")
#: the events a lock refuses on the forms it covers (on the server, from every device; on a laptop that knows it)
LOCKED_ACTIONS = frozenset(
    {"form_create", "value_set", "value_clear", "conflict_resolve", "status_change", "warnings_confirmed"}
)
#: the monitoring event types: they name a field without changing its value (never a merge's "changed elsewhere")
MONITORING_ACTIONS = frozenset(
    {
        "query_open",
        "query_answer",
        "query_close",
        "query_reopen",
        "query_server",
        "sdv_verify",
        "sdv_dropped",
        "record_lock",
        "record_unlock",
    }
)
#: value changes: they drop source-data verification and make closed queries closed_modified
VALUE_CHANGES = frozenset({"value_set", "value_clear", "conflict_resolve"})


def refusal(transition: str, status: str | None, role: str | None, username: str, opener: str | None) -> str | None:
    """Why `username` (a `role`) may not make `transition` on a query in `status`; None when allowed.

    The message names the rule, e.g. "query rule: a nurse cannot close a query (monitors and data
    managers, or the user who opened it)"."""
    move = TRANSITIONS.get(transition)
    if move is None:
        return f"query rule: {transition!r} is not a query transition"
    allowed = role in move.roles or (move.opener_may and opener is not None and opener == username)
    if not allowed:
        who = " or ".join(sorted(r.replace("_", " ") + "s" for r in move.roles))
        if move.opener_may:
            who += ", or the user who opened it"
        verb = transition.replace("_", " ")
        return f"query rule: a {(role or 'unknown user').replace('_', ' ')} cannot {verb} a query ({who})"
    if status not in move.sources:
        if status is None:
            return f"query rule: no such query to {transition.replace('_', ' ')}"
        if None in move.sources:
            return "query rule: this query exists already"
        states = ", ".join(sorted(str(s) for s in move.sources))
        return f"query rule: a query that is {status} cannot be {_past(transition)} (only from: {states})"
    return None


def _past(transition: str) -> str:
    return {"answer": "answered", "close": "closed", "reopen": "reopened"}.get(transition, transition)


def role_table() -> list[tuple[str, str, str, str]]:
    """(transition, from, to, who) rows for the README and `query rules`."""
    rows = []
    for move in TRANSITIONS.values():
        sources = ", ".join("—" if s is None else s for s in sorted(move.sources, key=lambda s: s or ""))
        who = ", ".join(sorted(move.roles)) + (" + opener" if move.opener_may else "")
        rows.append((move.name, sources, move.target, who))
    return rows
