"""The form-definition language as pydantic models: the shape of `forms/*.json`.

These models check shape only (unknown keys, types, per-attribute sanity such as min ≤ max). What
needs the whole study, such as expressions, code lists and cross-form references, is checked by
`definitions.semantics`, which reports every problem with its JSON path.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IDENT = r"^[A-Z][A-Z0-9_]*$"
FORM_IDENT = r"^[a-z][a-z0-9_]*$"
VISIT_IDENT = r"^[A-Za-z][A-Za-z0-9_]*$"

FieldType = Literal[
    "text",
    "integer",
    "decimal",
    "date",
    "partial_date",
    "datetime",
    "time",
    "choice",
    "multichoice",
    "yesno",
    "derived",
    "group",
]
ValueType = Literal["text", "integer", "decimal", "date", "datetime", "yesno", "choice"]
Severity = Literal["error", "warning", "info"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class I18n(Strict):
    """A user-facing text in English and Simplified Chinese; both are required."""

    en: Annotated[str, Field(min_length=1)]
    zh: Annotated[str, Field(min_length=1)]

    def get(self, language: str) -> str:
        return self.zh if language.startswith("zh") else self.en


class Code(Strict):
    code: str | int
    label: I18n

    @field_validator("code")
    @classmethod
    def _not_bool(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("a code must be a string or an integer, not true/false")
        return value


class CodeList(Strict):
    label: I18n | None = None
    standard: str | None = None
    codes: Annotated[list[Code], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> CodeList:
        seen: set[object] = set()
        kinds = {type(c.code) for c in self.codes}
        if len(kinds) > 1:
            raise ValueError("codes must be all strings or all integers")
        for code in self.codes:
            if code.code in seen:
                raise ValueError(f"code {code.code!r} appears twice")
            seen.add(code.code)
        return self


Bound = Decimal | str


class Range(Strict):
    """Inclusive bounds: numbers for numeric fields; ISO dates or `today` / `now` for dates."""

    min: Bound | None = None
    max: Bound | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a range needs min, max or both")
        if isinstance(self.min, Decimal) and isinstance(self.max, Decimal) and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        if isinstance(self.min, str) and isinstance(self.max, str):
            if not {self.min, self.max} & {"today", "now"} and self.min > self.max:
                raise ValueError(f"min {self.min} is later than max {self.max}")
        return self


class Length(Strict):
    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Length:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class FieldDef(Strict):
    id: Annotated[str, Field(pattern=IDENT, max_length=40)]
    type: FieldType
    label: I18n
    help: I18n | None = None
    units: str | I18n | None = None
    value_type: ValueType | None = None  # derived fields: the type they yield
    decimals: Annotated[int, Field(ge=0, le=10)] | None = None
    codelist: str | None = None
    choices: list[Code] | None = None  # an inline code list
    required: bool = False
    required_if: str | None = None
    show_if: str | None = None
    visits: list[str] | None = None  # the field exists only at these visits
    range: Range | None = None  # hard: outside is an error
    soft_range: Range | None = None  # soft: outside is a warning to confirm
    length: Length | None = None
    pattern: str | None = None
    derive: str | None = None
    entry: Literal["user", "server"] = "user"  # "server": set by the central server, read-only here
    fields: list[FieldDef] | None = None  # group sub-fields
    min_rows: Annotated[int, Field(ge=0)] | None = None
    max_rows: Annotated[int, Field(ge=1)] | None = None
    checks: list[Check] | None = None  # group row checks, evaluated per row

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern does not compile: {exc}") from None
        return value

    @model_validator(mode="after")
    def _rows(self) -> FieldDef:
        if self.min_rows is not None and self.max_rows is not None and self.min_rows > self.max_rows:
            raise ValueError(f"min_rows {self.min_rows} is greater than max_rows {self.max_rows}")
        return self


class Check(Strict):
    """An assertion across fields or forms: when it evaluates to false, the message is raised."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    severity: Severity
    assert_: Annotated[str, Field(alias="assert")]
    fields: Annotated[list[str], Field(min_length=1)]  # where the message is shown
    message: I18n
    visits: list[str] | None = None


class Criterion(Strict):
    id: Annotated[str, Field(pattern=r"^(INCL|EXCL)\d{2}$")]
    label: I18n
    source: Literal["derived", "entered"]
    rule: str  # true = inclusion met / exclusion condition present


class Eligibility(Strict):
    result_field: str
    not_evaluable_severity: Severity = "error"
    criteria: Annotated[list[Criterion], Field(min_length=1)]


class FormDef(Strict):
    id: Annotated[str, Field(pattern=FORM_IDENT)]
    version: Annotated[str, Field(min_length=1)]
    title: I18n
    repeating: bool = False
    fields: Annotated[list[FieldDef], Field(min_length=1)]
    checks: list[Check] = []
    eligibility: Eligibility | None = None


class Window(Strict):
    """Target study day relative to an anchor, with an allowed deviation in days either side."""

    anchor: Literal["consent", "eligibility", "D0"]
    day: int | None = None
    before: Annotated[int, Field(ge=0)] = 0
    after: Annotated[int, Field(ge=0)] = 0


class Visit(Strict):
    id: Annotated[str, Field(pattern=VISIT_IDENT)]
    label: I18n
    window: Window | None = None
    forms: list[str]  # ["*"] for the unscheduled visit: any visit form
    repeatable: bool = False


class Security(Strict):
    """Login lockout on the laptops: a study setting shipped with the definitions, so no laptop's
    environment can loosen it (a test mode may lower the key-derivation cost, never these)."""

    max_failed_logins: Annotated[int, Field(ge=1, le=20)] = 5
    lockout_minutes: Annotated[int, Field(ge=1, le=1440)] = 15


class Study(Strict):
    id: str
    title: I18n
    version: str
    codelists: dict[str, CodeList]
    visits: Annotated[list[Visit], Field(min_length=1)]
    security: Security = Field(default_factory=Security)
    # randomization design: checked by definitions/randomization.py (its own model, located errors)
    randomization: dict[str, object] | None = None
    # the analysis export: endpoint rules and direct identifiers, checked by definitions/endpoints.py
    endpoints: dict[str, object] | None = None
    identifiers: list[str] | None = None


FieldDef.model_rebuild()
