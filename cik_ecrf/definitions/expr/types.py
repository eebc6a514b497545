"""Static types of the expression language and the references a checked expression reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Type:
    kind: str  # bool number text date datetime time duration codes list rows
    codes: frozenset[object] | None = None  # the code list of a choice-valued expression
    partial: bool = False  # a partial date
    elem: Type | None = None  # element of a list

    def describe(self) -> str:
        if self.kind == "list" and self.elem is not None:
            return f"list of {self.elem.describe()}"
        if self.kind == "codes":
            return "multiple choice"
        if self.kind == "date" and self.partial:
            return "partial date"
        if self.codes is not None:
            return "code"
        return {"bool": "true/false"}.get(self.kind, self.kind)

    @property
    def family(self) -> str:
        return self.kind


BOOL = Type("bool")
NUMBER = Type("number")
TEXT = Type("text")
DATE = Type("date")
PARTIAL_DATE = Type("date", partial=True)
DATETIME = Type("datetime")
TIME = Type("time")
DURATION = Type("duration")
YESNO = Type("text", codes=frozenset({"Y", "N"}))

ORDERED = {"number", "date", "datetime", "time"}


@dataclass(frozen=True)
class LocalRef:
    """A field of the form being evaluated (its effective value: missing when hidden)."""

    field: str


@dataclass(frozen=True)
class RowRef:
    """A column of the current row (group row checks, any/all predicates)."""

    field: str


@dataclass(frozen=True)
class ColumnRef:
    """Every row's value of one column of a group field of this form."""

    group: str
    column: str


@dataclass(frozen=True)
class ExternalRef:
    """A field of another form. `visit` is a visit id, or None for "the same visit as the reader"."""

    form: str
    visit: str | None
    field: str
    many: bool  # a repeating form: one value per instance


@dataclass(frozen=True)
class RowsRef:
    """The rows of a group field of this form, or the instances of a repeating form."""

    group: str | None = None
    form: str | None = None
    visit: str | None = None


Ref = LocalRef | RowRef | ColumnRef | ExternalRef


def ref_name(ref: Ref, form: str | None = None) -> str:
    """A reference as a person writes it: `FIELD` (or `form.FIELD`), `GROUP.COLUMN`, `form@visit.FIELD`."""
    if isinstance(ref, (LocalRef, RowRef)):
        return f"{form}.{ref.field}" if form else ref.field
    if isinstance(ref, ColumnRef):
        return f"{form}.{ref.group}.{ref.column}" if form else f"{ref.group}.{ref.column}"
    return f"{ref.form}@{ref.visit}.{ref.field}" if ref.visit else f"{ref.form}.{ref.field}"
