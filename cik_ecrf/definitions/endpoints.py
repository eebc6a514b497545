"""The endpoint rules of the analysis export, as data in `forms/study.json` ("endpoints"), and the study's
direct identifiers ("identifiers"), which exports leave out unless asked.

The rules are read from the subject as a whole (`SubjectScope`): named variables (T0, LADA, LKADAT,
treatment failure ...) are expressions of the study's own language, each able to use the ones declared
before it, and each endpoint parameter says its start, its events (the earliest one that applies
decides) and its censoring dates (the first one known decides). A protocol amendment changes this
block, not code. A block that cannot be read is a `DefinitionErrors` naming file and JSON path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import DefinitionError, DefinitionErrors, json_path
from .expr.compiler import Compiled, compile_expression
from .expr.syntax import ExprError, Name
from .expr.types import ExternalRef, LocalRef, Ref, RowRef, RowsRef, Type
from .scope import FormIndex
from .spec import StudyDefinition

FILE = "study.json"
#: the visit of an `ExternalRef`/`RowsRef` meaning "every visit the form is collected at"
EVERY_VISIT = "*"
Ident = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,19}$")]
Source = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*\.[A-Z][A-Z0-9_]*$")]  # form.FIELD (SRCDOM/SRCVAR)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    en: Annotated[str, Field(min_length=1, max_length=200)]
    zh: Annotated[str, Field(min_length=1, max_length=200)]


class Variable(_Strict):
    id: Ident
    expr: Annotated[str, Field(min_length=1, max_length=1000)]
    label: Label


class Requirement(_Strict):
    when: Annotated[str, Field(min_length=1, max_length=500)]
    message: Label  # the reason a subject is left out of the endpoint dataset


class Rule(_Strict):
    """One event or censoring rule: its date, when it applies, where it comes from, what it is called."""

    id: Ident
    date: Annotated[str, Field(min_length=1, max_length=500)]
    when: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    source: Source
    description: Label


class Parameter(_Strict):
    paramcd: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,7}$")]
    param: Label
    start: Rule  # STARTDT: T0, or for DOR the first qualifying response
    population: Annotated[str, Field(min_length=1, max_length=500)] | None = None  # a row only when true
    events: Annotated[list[Rule], Field(min_length=1)]
    censors: Annotated[list[Rule], Field(min_length=1)]


class EndpointsModel(_Strict):
    variables: list[Variable] = []
    requires: list[Requirement] = []
    parameters: Annotated[list[Parameter], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> EndpointsModel:
        for what, ids in (
            ("variables", [v.id for v in self.variables]),
            ("parameters", [p.paramcd for p in self.parameters]),
        ):
            if len(set(ids)) != len(ids):
                raise ValueError(f"{what}: an id appears twice ({', '.join(ids)})")
        return self


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    date: Compiled
    when: Compiled | None

    @property
    def domain(self) -> str:
        return self.rule.source.split(".")[0]

    @property
    def variable(self) -> str:
        return self.rule.source.split(".")[1]


@dataclass(frozen=True)
class CompiledParameter:
    model: Parameter
    start: CompiledRule
    population: Compiled | None
    events: tuple[CompiledRule, ...]
    censors: tuple[CompiledRule, ...]


@dataclass(frozen=True)
class EndpointRules:
    variables: tuple[tuple[Variable, Compiled], ...]
    requires: tuple[tuple[Requirement, Compiled], ...]
    parameters: tuple[CompiledParameter, ...]


class SubjectScope:
    """Names as seen from the subject as a whole: declared variables, and every form's values."""

    def __init__(self, index: FormIndex, variables: dict[str, Type]) -> None:
        self.index = index
        self.variables = variables

    def resolve(self, name: Name) -> tuple[Type, Ref]:
        if name.second is None:
            if name.first in self.variables:
                return self.variables[name.first], LocalRef(name.first)
            known = ", ".join(self.variables) or "none yet"
            raise ExprError(name.pos, f"unknown variable {name.first} (declared before this rule: {known})")
        form_id, field_id = name.first, name.second
        form = self.index.forms.get(form_id)
        if form is None:
            raise ExprError(name.pos, f"unknown form {form_id}")
        type_ = self.index.types.get((form_id, field_id))
        if type_ is None:
            raise ExprError(name.pos, f"unknown field {field_id} in form {form_id}")
        visits = self.index.form_visits.get(form_id, set())
        if name.visit is not None:
            if name.visit not in visits:
                raise ExprError(name.pos, f"form {form_id} is not collected at visit {name.visit}")
            if form.repeating:
                return Type("list", elem=type_), ExternalRef(form_id, name.visit, field_id, True)
            return type_, ExternalRef(form_id, name.visit, field_id, False)
        if len(visits) == 1 and not form.repeating:
            return type_, ExternalRef(form_id, next(iter(visits)), field_id, False)
        return Type("list", elem=type_), ExternalRef(form_id, EVERY_VISIT, field_id, True)

    def rows(self, name: Name) -> tuple[RowsRef, _RowScope]:
        if name.first not in self.index.forms:
            raise ExprError(name.pos, f"{name.first} is not a form")
        visit = name.visit or EVERY_VISIT
        return RowsRef(form=name.first, visit=visit), _RowScope(self, name.first)


class _RowScope:
    """One instance of a form inside `earliest`/`latest`/`any`/`all`: its fields by their bare names."""

    def __init__(self, parent: SubjectScope, form_id: str) -> None:
        self.parent = parent
        self.form_id = form_id

    def resolve(self, name: Name) -> tuple[Type, Ref]:
        if name.second is None and name.visit is None:
            type_ = self.parent.index.types.get((self.form_id, name.first))
            if type_ is not None:
                return type_, RowRef(name.first)
        return self.parent.resolve(name)

    def rows(self, name: Name) -> tuple[RowsRef, _RowScope]:
        return self.parent.rows(name)


def _compile(text: str, scope: SubjectScope, where: str, kind: str, errors: list[DefinitionError]) -> Compiled | None:
    try:
        compiled = compile_expression(text, scope)  # type: ignore[arg-type]
    except ExprError as exc:
        errors.append(DefinitionError(FILE, where, f"{text!r}: {exc}"))
        return None
    if kind and (compiled.type.kind != kind or compiled.type.partial):
        wanted = {"bool": "a true/false condition", "date": "a full date"}[kind]
        errors.append(DefinitionError(FILE, where, f"{text!r}: must be {wanted}, not {compiled.type.describe()}"))
        return None
    return compiled


def _rule(rule: Rule, scope: SubjectScope, where: str, errors: list[DefinitionError]) -> CompiledRule | None:
    date = _compile(rule.date, scope, f"{where}.date", "date", errors)
    when = _compile(rule.when, scope, f"{where}.when", "bool", errors) if rule.when else None
    form_id, field_id = rule.source.split(".")
    if (form_id, field_id) not in scope.index.types:
        errors.append(DefinitionError(FILE, f"{where}.source", f"no field {field_id} in form {form_id}"))
        return None
    if date is None or (rule.when and when is None):
        return None
    return CompiledRule(rule, date, when)


def read_endpoints(study: StudyDefinition) -> EndpointRules | None:
    """The study's endpoint rules, or None without an "endpoints" block; raises `DefinitionErrors`."""
    raw = study.study.endpoints
    if raw is None:
        return None
    try:
        model = EndpointsModel.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionErrors(
            [
                DefinitionError(FILE, json_path(("endpoints", *e["loc"])), e["msg"].removeprefix("Value error, "))
                for e in exc.errors(include_url=False)
            ]
        ) from None
    errors: list[DefinitionError] = []
    index = FormIndex(study.study, {fid: f.definition for fid, f in study.forms.items()})
    types: dict[str, Type] = {}
    scope = SubjectScope(index, types)
    variables = []
    for i, variable in enumerate(model.variables):
        compiled = _compile(variable.expr, scope, f"$.endpoints.variables[{i}].expr", "", errors)
        if compiled is not None:
            types[variable.id] = compiled.type
            variables.append((variable, compiled))
    requires = []
    for i, requirement in enumerate(model.requires):
        compiled = _compile(requirement.when, scope, f"$.endpoints.requires[{i}].when", "bool", errors)
        if compiled is not None:
            requires.append((requirement, compiled))
    parameters = []
    for i, parameter in enumerate(model.parameters):
        where = f"$.endpoints.parameters[{i}]"
        start = _rule(parameter.start, scope, f"{where}.start", errors)
        population = (
            _compile(parameter.population, scope, f"{where}.population", "bool", errors)
            if parameter.population
            else None
        )
        events = [_rule(r, scope, f"{where}.events[{j}]", errors) for j, r in enumerate(parameter.events)]
        censors = [_rule(r, scope, f"{where}.censors[{j}]", errors) for j, r in enumerate(parameter.censors)]
        if start is not None and all(events) and all(censors):
            parameters.append(
                CompiledParameter(parameter, start, population, tuple(events), tuple(censors))  # type: ignore[arg-type]
            )
    if errors:
        raise DefinitionErrors(errors)
    return EndpointRules(tuple(variables), tuple(requires), tuple(parameters))


def read_identifiers(study: StudyDefinition) -> frozenset[tuple[str, str]]:
    """(form, field) pairs of the direct identifiers; raises `DefinitionErrors` for an unknown one."""
    errors = []
    found = set()
    for i, text in enumerate(study.study.identifiers or []):
        form_id, _, field_id = text.partition(".")
        form = study.forms.get(form_id)
        if form is None or field_id not in form.fields:
            errors.append(DefinitionError(FILE, f"$.identifiers[{i}]", f"{text!r}: no such form.FIELD"))
        found.add((form_id, field_id))
    if errors:
        raise DefinitionErrors(errors)
    return frozenset(found)
