"""What the monitoring event types share: their payloads, and the state they act on.

The query, SDV and lock events (query_*.py, sdv_*.py, record_*.py) read their payloads through these
strict models and act on `MonitoringServer` (the server's push, `cik_ecrf.server.monitoring`) or
`MonitoringLaptop` (a laptop's tables, `cik_ecrf.store.monitoring_sql`); the rules themselves are the
table in `cik_ecrf.core.queries`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

from pydantic import Field

from ..core.queries import refusal
from .base import Refused
from .change import Change, Id
from .payloads import Payload, read

Text = Annotated[str, Field(min_length=1, max_length=4000)]
FieldId = Annotated[str, Field(min_length=1, max_length=40)]


class QueryOpened(Payload):
    query: Id
    scope: Literal["field", "form", "visit"]
    kind: Literal["manual", "review"] = "manual"
    text: Text


class QueryStep(Payload):
    """An answer, a close or a reopen (the reopen's reason travels in the change's `reason`)."""

    query: Id
    text: Annotated[str, Field(max_length=4000)] | None = None
    correction: bool = False


class ServerQueryStep(Payload):
    """A query move the server makes: opening a conflict query, answering it when the conflict is
    resolved, marking a closed query closed_modified. `scope` etc. only when it opens one."""

    query: Id
    transition: Literal[
        "conflict_open", "conflict_resolved", "modified", "item_removed"
    ]  # item_removed: study versions
    text: Annotated[str, Field(max_length=4000)] | None = None
    scope: Literal["field", "form", "visit"] | None = None
    cause: Id | None = None  # the change that caused it


class SdvVerified(Payload):
    scope: Literal["field", "form", "visit"]
    instances: Annotated[list[Id], Field(min_length=1, max_length=200)]
    fields: Annotated[list[FieldId], Field(max_length=500)] = []


class SdvDropped(Payload):
    marks: Annotated[list[tuple[Id, Annotated[str, Field(max_length=40)]]], Field(min_length=1, max_length=50)]
    cause: Id | None = None


class LockPayload(Payload):
    scope: Literal["form", "visit", "subject"]


def payload_of(model: type[Any], change: Change, text: str | None = None) -> Any:
    return read(model, change.new_json if text is None else text, change.action)


def lock_scope(change: Change) -> tuple[str, str, str]:
    """(subject, visit or '', form or '') of a lock or unlock, checked against its declared scope."""
    scope = payload_of(LockPayload, change).scope
    subject, visit, form = change.subject_id or "", change.visit_id or "", change.form_id or ""
    if not subject:
        raise Refused(f"{change.action}: without a subject")
    expected = {"subject": (False, False), "visit": (True, False), "form": (True, True)}[scope]
    if (bool(visit), bool(form)) != expected:
        raise Refused(
            f"{change.action}: a {scope} lock names {'a visit' if scope == 'visit' else 'its visit and form'}"
        )
    return subject, visit, form


def check_move(transition: str, status: str | None, role: str | None, username: str, opener: str | None) -> None:
    problem = refusal(transition, status, role, username, opener)
    if problem is not None:
        raise Refused(problem)


class MonitoringServer(Protocol):
    """The server's monitoring state during one push (`cik_ecrf.server.monitoring.state`)."""

    def query(self, query_id: str) -> dict[str, Any] | None: ...
    def add_query(self, row: dict[str, Any]) -> None: ...
    def set_query_status(self, query_id: str, status: str) -> None: ...
    def value_changed_since(self, instance_id: str, field_id: str | None, seq: int) -> bool: ...
    def add_sdv(self, instance_id: str, field_ids: list[str], username: str) -> None: ...
    def lock_at(self, subject_id: str, visit_id: str, form_id: str) -> bool: ...
    def add_lock(self, subject_id: str, visit_id: str, form_id: str, username: str) -> None: ...
    def remove_lock(self, subject_id: str, visit_id: str, form_id: str) -> list[str]: ...


class MonitoringLaptop(Protocol):
    """A laptop's monitoring tables (`cik_ecrf.store.monitoring_sql.LaptopMonitoring`)."""

    def open_query(self, change: Change, body: QueryOpened | ServerQueryStep) -> None: ...
    def step_query(self, change: Change, transition: str, text: str | None, correction: bool) -> None: ...
    def verify(self, change: Change, body: SdvVerified) -> None: ...
    def drop(self, change: Change, marks: list[tuple[str, str]]) -> None: ...
    def lock(self, change: Change, where: tuple[str, str, str]) -> None: ...
    def unlock(self, change: Change, where: tuple[str, str, str]) -> None: ...


# ---------------------------------------------------------------- the query moves users make


def target_of(study: Any, change: Change, scope: str) -> None:
    """A query's or SDV's target as the change names it: a visit of the schedule, a form collected
    there, a field of that form (refused with where and what)."""
    from .values import form_at

    if not change.subject_id or not change.visit_id:
        raise Refused(f"{change.action}: names no subject and visit")
    if scope == "visit":
        if change.visit_id not in study.visit_ids():
            raise Refused(f"{change.action}: {change.visit_id!r} is not a visit of this study")
        if change.form_id or change.instance_id or change.field_id:
            raise Refused(f"{change.action}: a visit query names no form or field")
        return
    form = form_at(study, change.form_id, change.visit_id)
    if not change.instance_id:
        raise Refused(f"{change.action}: a {scope} query names its form instance")
    if scope == "field" and (change.field_id or "") not in form.fields:
        raise Refused(f"{change.action}: form {form.id} has no field {change.field_id}")
    if scope == "form" and change.field_id:
        raise Refused(f"{change.action}: a form query names no field")


def instance_matches(state: Any, change: Change) -> None:
    """The form instance a change names exists on the server and is that subject's form at that visit."""
    if not change.instance_id:
        if state.subject(change.subject_id) is None:
            raise Refused(f"subject {change.subject_id} is unknown on the server")
        return
    instance = state.instance(change.instance_id)
    if instance is None:
        raise Refused(f"form instance {change.instance_id} is unknown on the server")
    if (instance["subject_id"], instance["visit_id"], instance["form_id"]) != (
        change.subject_id,
        change.visit_id,
        change.form_id,
    ):
        raise Refused(
            f"form instance {change.instance_id} is not {change.form_id} at {change.visit_id} of this subject"
        )


def server_step(state: Any, change: Change, transition: str) -> None:
    """Answer, close or reopen on the server: the table decides, with the server's record of the role."""
    from ..core.queries import TRANSITIONS

    body = payload_of(QueryStep, change)
    monitoring = state.monitoring()
    query = monitoring.query(body.query)
    check_move(
        transition,
        None if query is None else query["status"],
        state.role_of(change.username),
        change.username,
        None if query is None else query["opened_by"],
    )
    move = TRANSITIONS[transition]
    if move.needs_text and not (body.text and body.text.strip()):
        raise Refused(f"query rule: to {transition} a query needs a text")
    if move.needs_reason and not (change.reason and change.reason.strip()):
        raise Refused(f"query rule: to {transition} a query needs a reason")
    if body.correction:
        if transition != "answer" or query["instance_id"] is None:
            raise Refused("query rule: only an answer to a field or form query carries a correction")
        if not monitoring.value_changed_since(query["instance_id"], query["field_id"], query["opened_seq"]):
            raise Refused(
                "query rule: a correction answer follows a value change (with its reason) of the queried data"
            )
    monitoring.set_query_status(body.query, move.target)


def laptop_step(state: Any, change: Change, transition: str) -> None:
    body = payload_of(QueryStep, change)
    state.monitoring().step_query(change, transition, body.text, body.correction)
