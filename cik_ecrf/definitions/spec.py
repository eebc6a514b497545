"""The loaded, checked study: definitions with their expressions compiled and their types known."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .expr.compiler import Compiled
from .expr.types import Type
from .models import Check, Code, Criterion, FieldDef, FormDef, Study, Visit

SUBJECT_VISIT = "subject"
UNSCHEDULED_VISIT = "unscheduled"


@dataclass(frozen=True)
class CheckSpec:
    definition: Check
    compiled: Compiled

    @property
    def id(self) -> str:
        return self.definition.id


@dataclass(frozen=True)
class CriterionSpec:
    definition: Criterion
    compiled: Compiled

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def inclusion(self) -> bool:
        return self.definition.id.startswith("INCL")


@dataclass(frozen=True)
class FieldSpec:
    definition: FieldDef
    type: Type
    codes: tuple[Code, ...] = ()
    show_if: Compiled | None = None
    required_if: Compiled | None = None
    derive: Compiled | None = None
    sub_fields: tuple[FieldSpec, ...] = ()
    row_checks: tuple[CheckSpec, ...] = ()

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def kind(self) -> str:
        """The value's kind: the field type, or for a derived field the type it yields."""
        d = self.definition
        return d.value_type or d.type if d.type == "derived" else d.type

    @property
    def read_only(self) -> bool:
        return self.definition.type == "derived" or self.definition.entry == "server"

    def code_label(self, code: object, language: str = "en") -> str | None:
        for item in self.codes:
            if item.code == code:
                return item.label.get(language)
        return None


@dataclass(frozen=True)
class FormSpec:
    definition: FormDef
    fields: dict[str, FieldSpec]
    checks: tuple[CheckSpec, ...]
    criteria: tuple[CriterionSpec, ...]
    visits: frozenset[str]

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def version(self) -> str:
        return self.definition.version

    @property
    def repeating(self) -> bool:
        return self.definition.repeating

    @property
    def result_field(self) -> str | None:
        e = self.definition.eligibility
        return e.result_field if e else None

    def applies(self, field_id: str, visit: str) -> bool:
        visits = self.fields[field_id].definition.visits
        return visits is None or visit in visits

    def rule_count(self) -> int:
        count = len(self.checks) + len(self.criteria)
        for spec in self.fields.values():
            count += sum(x is not None for x in (spec.show_if, spec.required_if, spec.derive))
            count += len(spec.row_checks)
        return count


@dataclass(frozen=True)
class StudyDefinition:
    study: Study
    forms: dict[str, FormSpec]
    directory: Path
    sources: dict[str, Path] = field(default_factory=dict)

    def visit(self, visit_id: str) -> Visit:
        for visit in self.study.visits:
            if visit.id == visit_id:
                return visit
        raise KeyError(visit_id)

    def visit_ids(self) -> list[str]:
        return [v.id for v in self.study.visits]

    def forms_at(self, visit_id: str) -> list[str]:
        forms = self.visit(visit_id).forms
        if forms == ["*"]:
            return [f for v in self.study.visits for f in v.forms if v.id != SUBJECT_VISIT and f != "*"]
        return list(forms)

    def field_count(self) -> int:
        return sum(1 + len(f.sub_fields) for form in self.forms.values() for f in form.fields.values())

    def rule_count(self) -> int:
        return sum(form.rule_count() for form in self.forms.values())

    def iter_fields(self) -> Iterator[tuple[FormSpec, FieldSpec]]:
        for form in self.forms.values():
            for spec in form.fields.values():
                yield form, spec
