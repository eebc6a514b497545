"""What evaluating a form yields: small frozen records the UI, the store and the CLI consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Outcome = Literal["met", "not met", "present", "absent", "not evaluable"]


@dataclass(frozen=True)
class Message:
    en: str
    zh: str

    def get(self, language: str) -> str:
        return self.zh if language.startswith("zh") else self.en


@dataclass(frozen=True)
class Issue:
    """One error, warning or flag, located at a field (and a row and column of a group)."""

    field: str
    severity: Severity
    code: str  # "range", "soft_range", "type", "pattern", "rows", a check id or a criterion id
    message: Message
    row: int | None = None
    column: str | None = None
    blocks_draft: bool = True  # False: stops completion only (e.g. a criterion not yet evaluable)

    @property
    def needs_confirmation(self) -> bool:
        return self.severity == "warning"

    def location(self) -> str:
        if self.row is None:
            return self.field
        return f"{self.field}[{self.row + 1}].{self.column}" if self.column else f"{self.field}[{self.row + 1}]"


@dataclass(frozen=True)
class CriterionResult:
    id: str
    inclusion: bool
    source: str  # derived / entered
    outcome: Outcome
    values: dict[str, Any] = field(hash=False)  # "form.FIELD" -> the value the rule read


@dataclass(frozen=True)
class EligibilityResult:
    eligible: str | None  # "Y", "N" or None (not evaluable)
    criteria: tuple[CriterionResult, ...]

    def as_json(self) -> dict[str, Any]:
        from .jsonvalues import to_json

        return {
            "eligible": self.eligible,
            "criteria": {
                c.id: {"outcome": c.outcome, "values": {k: to_json(v) for k, v in c.values.items()}}
                for c in self.criteria
            },
        }


@dataclass(frozen=True)
class Delta:
    """What one keystroke changed: only the fields whose state moved."""

    values: dict[str, Any] = field(hash=False)  # effective values that changed (derived included)
    visible: dict[str, bool] = field(hash=False)
    required: dict[str, bool] = field(hash=False)
    issues: dict[str, tuple[Issue, ...]] = field(hash=False)  # full issue list of each touched field
    nodes_evaluated: int = 0


@dataclass(frozen=True)
class FormEvaluation:
    """The whole state of one form instance after evaluation."""

    form_id: str
    visit_id: str
    values: dict[str, Any] = field(hash=False)  # effective values, derived included; hidden = None
    visible: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    issues: tuple[Issue, ...] = ()
    missing_required: tuple[str, ...] = ()
    eligibility: EligibilityResult | None = None

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def draft_errors(self) -> tuple[Issue, ...]:
        """Errors that stop even a draft save: values that are wrong, not merely incomplete."""
        return tuple(i for i in self.errors if i.blocks_draft)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    def can_complete(self, confirmed: frozenset[str] = frozenset()) -> bool:
        """Complete needs no error, no unfilled required field and every warning confirmed."""
        unconfirmed = [w for w in self.warnings if f"{w.field}:{w.code}" not in confirmed]
        return not self.errors and not self.missing_required and not unconfirmed
