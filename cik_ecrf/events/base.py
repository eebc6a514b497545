"""What an event type is: its payload, who may emit it, how a laptop applies it, how the server
validates and applies it.

The functions take context objects (`ServerState`, `LaptopState`) rather than database sessions:
the server and the laptop store implement them over their own tables, so an event module states the
rule once and neither package's tables leak into the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

from ..definitions.spec import StudyDefinition
from .change import Change

Origin = Literal["laptop", "server"]
Disposition = Literal["applied", "merged", "conflict", "rejected"]
#: what the server does once the change has its place in the log (e.g. write the field at that seq)
After = Callable[[int], None] | None


class Refused(Exception):
    """A change that must not be applied: logged as rejected on the server, quarantined on a laptop."""


@dataclass(frozen=True)
class Outcome:
    disposition: Disposition
    reason: str | None = None
    after: After = None


APPLIED = Outcome("applied")
MERGED = Outcome("merged")


class ServerState(Protocol):
    """The server's view of one push (implemented by `cik_ecrf.server.apply.BatchApplier`)."""

    study: StudyDefinition
    site: str
    device_id: str

    def role_of(self, username: str) -> str | None: ...
    def monitoring(self) -> Any: ...  # monitoring: queries, SDV, locks (events.monitoring.MonitoringServer)
    def subject(self, subject_id: str | None) -> dict[str, Any] | None: ...
    def number_taken(self, number: str) -> bool: ...
    def add_subject(self, subject_id: str, number: str) -> None: ...
    # a restored laptop's number taken again: the next free one of its own pattern (None: not its pattern)
    def next_own_number(self, number: str) -> str | None: ...
    def log_renumbered(self, change: Change, given: str, number: str) -> None: ...
    def instance(self, instance_id: str | None) -> dict[str, Any] | None: ...
    def add_instance(self, row: dict[str, Any]) -> None: ...
    def set_status(self, instance: dict[str, Any], status: str) -> None: ...
    def value_outcome(self, change: Change, instance: dict[str, Any], value_json: str | None) -> Outcome: ...
    def edit_refused(self, instance: dict[str, Any]) -> bool: ...
    def refuse_edits(self, instance: dict[str, Any]) -> None: ...
    def active_signatures(self, instance_id: str) -> set[str]: ...
    def add_signature(self, signature_id: str, instance_ids: list[str]) -> After: ...
    def clear_signature(self, signature_id: str) -> list[str]: ...
    def touched_since_signed(self, change: Change, signature_id: str) -> bool: ...
    # randomization (client half): the subject's randomization values (RANDNO, PRODID, RANDDTC) or None
    def randomization_of(self, subject_id: str) -> dict[str, Any] | None: ...
    # study versions: the form version an instance is on, and moving it to a newer one
    def form_version(self, instance: dict[str, Any]) -> str: ...
    def upgrade_instance(self, instance: dict[str, Any], to_version: str, dropped: list[str]) -> None: ...


class LaptopState(Protocol):
    """A laptop's view of one pulled page (implemented by `cik_ecrf.store.pull.PulledPage`)."""

    study: StudyDefinition

    def has_subject(self, subject_id: str | None) -> bool: ...
    def add_subject(self, change: Change, number: str) -> None: ...
    def renumber_subject(self, change: Change, number: str) -> None: ...
    def instance_status(self, instance_id: str | None) -> str | None: ...
    def add_instance(self, change: Change, status: str, version: str) -> None: ...
    def set_status(self, change: Change, status: str) -> None: ...
    def write_value(self, seq: int, change: Change, value_json: str | None, *, conflict: bool = False) -> None: ...
    def open_conflict(
        self, seq: int, change: Change, current: str | None, candidates: list[dict[str, Any]]
    ) -> None: ...
    def close_conflict(self, change: Change, up_to: int) -> None: ...
    def monitoring(self) -> Any: ...  # monitoring: queries, SDV, locks (events.monitoring.MonitoringLaptop)
    # randomization: the laptop's allocation record (never an arm)
    def set_allocation(self, change: Change, randno: str, prodid: str, randdtc: str) -> None: ...
    def mark_unblinded(self, change: Change) -> None: ...
    def mark_voided(self, change: Change, randno: str) -> None: ...
    # study versions: an instance moved to a newer form version (fields it no longer has dropped)
    def upgrade_instance(self, change: Change, to_version: str, dropped: list[str]) -> None: ...


Check = Callable[[StudyDefinition, Change], None]
ServerApply = Callable[[ServerState, Change], Outcome]
LaptopApply = Callable[[LaptopState, int, str, Change], None]


def _no_check(_study: StudyDefinition, _change: Change) -> None:
    return None


def _kept(_state: ServerState, _change: Change) -> Outcome:
    return APPLIED  # kept in the central trail; no state of its own


@dataclass(frozen=True)
class EventType:
    """One kind of event. `roles` is checked against the server's record of the author, never the
    role a laptop writes into the change; None means any active user of the device's site."""

    name: str
    origin: Origin
    data: bool  # changes clinical data: validated, applied and sent to every laptop of the site
    roles: frozenset[str] | None
    check: Check = _no_check
    server_apply: ServerApply = _kept
    laptop_apply: LaptopApply | None = None
    doc: str = ""


def load_json(text: str | None, what: str, *, exact: bool = False) -> Any:
    """A JSON text inside a change, or a refusal naming what it should have been (`exact`: decimals
    read as Decimal, as the laptop's typed readers expect)."""
    if text is None:
        return None
    try:
        return json.loads(text, parse_float=Decimal) if exact else json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(f"{what}: not valid JSON") from None


def need(condition: object, message: str) -> None:
    if not condition:
        raise Refused(message)
