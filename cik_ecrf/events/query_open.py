"""A query raised on a field, a form or a visit, with a text: by a monitor or data manager, or by an
investigator marking a confirmed warning for the monitor's review (kind "review"). Its id travels in
the payload, so every later step names it."""

from __future__ import annotations

from ..definitions.spec import StudyDefinition
from .base import APPLIED, EventType, LaptopState, Outcome, Refused, ServerState
from .change import Change
from .monitoring import QueryOpened, check_move, instance_matches, payload_of, target_of


def check(study: StudyDefinition, change: Change) -> None:
    body = payload_of(QueryOpened, change)
    target_of(study, change, body.scope)
    if not body.text.strip():
        raise Refused("query rule: a query needs a text")


def server_apply(state: ServerState, change: Change) -> Outcome:
    body = payload_of(QueryOpened, change)
    monitoring = state.monitoring()
    if monitoring.query(body.query) is not None:
        raise Refused(f"query rule: query {body.query} exists already")
    transition = "open" if body.kind == "manual" else "open_review"
    check_move(transition, None, state.role_of(change.username), change.username, None)
    instance_matches(state, change)
    monitoring.add_query(
        {
            "id": body.query,
            "subject_id": change.subject_id,
            "visit_id": change.visit_id,
            "form_id": change.form_id,
            "instance_id": change.instance_id,
            "field_id": change.field_id,
            "scope": body.scope,
            "kind": body.kind,
            "status": "open",
            "opened_by": change.username,
        }
    )
    return APPLIED


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    state.monitoring().open_query(change, payload_of(QueryOpened, change))


# roles: the query table (core/queries.py) decides, with the server's record of the user's role
EVENT = EventType("query_open", "laptop", True, None, check, server_apply, laptop_apply, __doc__ or "")
