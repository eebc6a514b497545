"""Whole-study checks and compilation: everything the per-file models cannot see alone.

Resolves names across forms, type-checks every expression, checks each field's attributes against
its type, and refuses cycles among derived values and visibility. Every problem is collected with
its file and JSON path; nothing stops at the first.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from .errors import DefinitionError
from .expr.compiler import Compiled, compile_expression
from .expr.syntax import Call, Case, ExprError, Literal, Node, parse
from .expr.types import (
    ColumnRef,
    ExternalRef,
    LocalRef,
)
from .models import Check, Code, FieldDef, FormDef, Range, Study
from .scope import FormIndex, Scope, field_type
from .spec import UNSCHEDULED_VISIT, CheckSpec, CriterionSpec, FieldSpec, FormSpec, StudyDefinition

COMMON = {"id", "type", "label", "help", "units", "required", "required_if", "show_if", "visits", "entry"}
ALLOWED = {
    "text": COMMON | {"length", "pattern"},
    "integer": COMMON | {"range", "soft_range"},
    "decimal": COMMON | {"decimals", "range", "soft_range"},
    "date": COMMON | {"range"},
    "partial_date": COMMON | {"range"},
    "datetime": COMMON | {"range"},
    "time": COMMON,
    "choice": COMMON | {"codelist", "choices"},
    "multichoice": COMMON | {"codelist", "choices"},
    "yesno": COMMON,
    "derived": {
        "id",
        "type",
        "label",
        "help",
        "units",
        "visits",
        "show_if",
        "derive",
        "value_type",
        "decimals",
        "codelist",
        "choices",
    },
    "group": COMMON | {"fields", "min_rows", "max_rows", "checks"},
}


class _Report:
    def __init__(self) -> None:
        self.errors: list[DefinitionError] = []

    def add(self, file: str, path: str, message: str) -> None:
        self.errors.append(DefinitionError(file, path, message))


class _FormBuilder:
    def __init__(self, index: FormIndex, form: FormDef, file: str, report: _Report) -> None:
        self.index = index
        self.form = form
        self.file = file
        self.report = report
        self.visits = index.form_visits.get(form.id, set())

    def error(self, path: str, message: str) -> None:
        self.report.add(self.file, path, message)

    def expression(self, text: str, path: str, scope: Scope, expect: str | None = None) -> Compiled | None:
        try:
            compiled = compile_expression(text, scope)
        except ExprError as exc:
            self.error(path, f"{exc} in {text!r}")
            return None
        if expect == "bool" and compiled.type.kind != "bool":
            self.error(path, f"must be a true/false condition, but yields {compiled.type.describe()}: {text!r}")
            return None
        return compiled

    def scope(self, visits: list[str] | None) -> Scope:
        return Scope(self.index, self.form, set(visits) if visits else set(self.visits))

    def build(self) -> FormSpec:
        seen: set[str] = set()
        fields: dict[str, FieldSpec] = {}
        for i, f in enumerate(self.form.fields):
            path = f"$.fields[{i}]"
            if f.id in seen:
                self.error(f"{path}.id", f"field id {f.id} appears twice in this form")
                continue
            seen.add(f.id)
            fields[f.id] = self.field(f, path, top=True)
        checks = self.checks(self.form.checks, "$.checks", self.scope(None), set(fields))
        criteria = self.criteria(fields)
        return FormSpec(self.form, fields, checks, criteria, frozenset(self.visits))

    def field(self, f: FieldDef, path: str, top: bool, row_scope: Scope | None = None) -> FieldSpec:
        given = {k for k in f.model_fields_set if getattr(f, k) not in (None, False, [])}
        for key in sorted(given - ALLOWED[f.type]):
            self.error(f"{path}.{key}", f"{key} is not allowed for {_an(f.type)} field")
        codes = self.index.codes_of(f)
        self.check_type_specifics(f, path, top)
        self.check_range(f, f.range, f"{path}.range")
        self.check_range(f, f.soft_range, f"{path}.soft_range")
        if f.range and f.soft_range:
            self.check_soft_within_hard(f, path)
        for key in ("visits",):
            for j, visit in enumerate(f.visits or []):
                if visit not in self.visits:
                    self.error(f"{path}.{key}[{j}]", f"form {self.form.id} is not collected at visit {visit!r}")
        scope = row_scope or self.scope(f.visits)
        show_if = self.expression(f.show_if, f"{path}.show_if", scope, "bool") if f.show_if and top else None
        required_if = (
            self.expression(f.required_if, f"{path}.required_if", scope, "bool") if f.required_if and top else None
        )
        if not top:
            for key in ("show_if", "required_if", "derive"):
                if getattr(f, key):
                    self.error(f"{path}.{key}", f"{key} is not supported inside a group")
        derive = None
        if f.type == "derived" and f.derive and top:
            derive = self.expression(f.derive, f"{path}.derive", scope)
            if derive is not None and f.value_type is not None:
                self.check_derived_type(f, derive, codes, f"{path}.derive")
        subs: list[FieldSpec] = []
        row_checks: tuple[CheckSpec, ...] = ()
        if f.type == "group":
            sub_scope = Scope(self.index, self.form, set(self.visits), self.form.id, f.id + ".", self.scope(f.visits))
            seen: set[str] = set()
            for j, sub in enumerate(f.fields or []):
                if sub.id in seen:
                    self.error(f"{path}.fields[{j}].id", f"column id {sub.id} appears twice in group {f.id}")
                    continue
                seen.add(sub.id)
                if sub.type in ("group", "derived"):
                    self.error(f"{path}.fields[{j}].type", f"a {sub.type} field cannot be inside a group")
                    continue
                subs.append(self.field(sub, f"{path}.fields[{j}]", top=False, row_scope=sub_scope))
            row_checks = self.checks(f.checks or [], f"{path}.checks", sub_scope, seen)
        return FieldSpec(
            f,
            self.index.types[(self.form.id, f.id)] if top else field_type(f, codes),
            codes,
            show_if,
            required_if,
            derive,
            tuple(subs),
            row_checks,
        )

    def check_type_specifics(self, f: FieldDef, path: str, top: bool) -> None:
        kind = f.value_type if f.type == "derived" else f.type
        if f.type == "derived":
            if f.value_type is None:
                self.error(f"{path}.value_type", "a derived field needs value_type (the type it yields)")
            result_field = self.form.eligibility.result_field if self.form.eligibility else None
            if not f.derive and f.id != result_field:
                self.error(f"{path}.derive", "a derived field needs a derive expression")
        if kind == "decimal" and f.decimals is None:
            self.error(f"{path}.decimals", "a decimal field needs decimals (the number of places)")
        if kind in ("choice", "multichoice"):
            if bool(f.codelist) == bool(f.choices):
                self.error(path, f"a {kind} field needs exactly one of codelist or choices")
            elif f.codelist and f.codelist not in self.index.study.codelists:
                self.error(f"{path}.codelist", f"unknown code list {f.codelist!r}")
        if f.choices:
            seen: set[object] = set()
            for j, c in enumerate(f.choices):
                if c.code in seen:
                    self.error(f"{path}.choices[{j}].code", f"code {c.code!r} appears twice")
                seen.add(c.code)
        if f.type == "group" and not f.fields:
            self.error(f"{path}.fields", "a group needs at least one sub-field")
        if f.entry == "server" and f.type == "derived":
            self.error(f"{path}.entry", "a derived field is computed here, it cannot be set by the server")

    def check_range(self, f: FieldDef, r: Range | None, path: str) -> None:
        if r is None:
            return
        kind = f.value_type if f.type == "derived" else f.type
        for bound_name in ("min", "max"):
            bound = getattr(r, bound_name)
            if bound is None:
                continue
            where = f"{path}.{bound_name}"
            if kind in ("integer", "decimal"):
                if not isinstance(bound, Decimal):
                    self.error(where, f"{_an(kind)} field's bound must be a number, not {_shown(bound)}")
            elif kind in ("date", "partial_date"):
                if not isinstance(bound, str) or (bound != "today" and not _is_date(bound)):
                    self.error(where, f'a date bound must be "YYYY-MM-DD" or "today", not {_shown(bound)}')
            elif kind == "datetime":
                if not isinstance(bound, str) or (bound != "now" and not _is_datetime(bound)):
                    self.error(
                        where,
                        f'a datetime bound must be an ISO datetime with a UTC offset or "now", not {_shown(bound)}',
                    )

    def check_soft_within_hard(self, f: FieldDef, path: str) -> None:
        hard, soft = f.range, f.soft_range
        assert hard and soft
        if all(isinstance(x, Decimal) for x in (hard.min, soft.min)) and soft.min < hard.min:  # type: ignore[operator]
            self.error(f"{path}.soft_range.min", f"soft min {soft.min} is below the hard min {hard.min}")
        if all(isinstance(x, Decimal) for x in (hard.max, soft.max)) and soft.max > hard.max:  # type: ignore[operator]
            self.error(f"{path}.soft_range.max", f"soft max {soft.max} is above the hard max {hard.max}")

    def check_derived_type(self, f: FieldDef, derive: Compiled, codes: tuple[Code, ...], path: str) -> None:
        expected = field_type(f, codes)
        got = derive.type
        if got.kind != expected.kind or (got.kind == "date" and got.partial and not expected.partial):
            self.error(path, f"yields {got.describe()} but value_type is {f.value_type}")
            return
        if expected.codes:
            tree_codes = set(_result_literals(parse(derive.source)))
            bad = sorted(str(x) for x in tree_codes if x not in expected.codes)
            if bad:
                self.error(
                    path,
                    f"yields {', '.join(bad)}, not a code of the field ({', '.join(sorted(map(str, expected.codes)))})",
                )

    def checks(self, checks: list[Check], path: str, scope: Scope, field_ids: set[str]) -> tuple[CheckSpec, ...]:
        out: list[CheckSpec] = []
        seen: set[str] = set()
        for i, check in enumerate(checks):
            where = f"{path}[{i}]"
            if check.id in seen:
                self.error(f"{where}.id", f"check id {check.id} appears twice")
            seen.add(check.id)
            for j, fid in enumerate(check.fields):
                if fid not in field_ids:
                    self.error(f"{where}.fields[{j}]", f"unknown field {fid}")
            for j, visit in enumerate(check.visits or []):
                if visit not in self.visits:
                    self.error(f"{where}.visits[{j}]", f"form {self.form.id} is not collected at visit {visit!r}")
            check_scope = scope if check.visits is None or scope.row_form else self.scope(check.visits)
            compiled = self.expression(check.assert_, f"{where}.assert", check_scope, "bool")
            if compiled is not None:
                out.append(CheckSpec(check, compiled))
        return tuple(out)

    def criteria(self, fields: dict[str, FieldSpec]) -> tuple[CriterionSpec, ...]:
        e = self.form.eligibility
        if e is None:
            return ()
        result = fields.get(e.result_field)
        if result is None:
            self.error("$.eligibility.result_field", f"unknown field {e.result_field}")
        elif result.definition.type != "derived" or result.definition.value_type != "yesno" or result.definition.derive:
            self.error("$.eligibility.result_field", f"{e.result_field} must be a derived yesno field without derive")
        out: list[CriterionSpec] = []
        seen: set[str] = set()
        for i, c in enumerate(e.criteria):
            if c.id in seen:
                self.error(f"$.eligibility.criteria[{i}].id", f"criterion {c.id} appears twice")
            seen.add(c.id)
            compiled = self.expression(c.rule, f"$.eligibility.criteria[{i}].rule", self.scope(None), "bool")
            if compiled is not None:
                out.append(CriterionSpec(c, compiled))
        return tuple(out)


def _an(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _shown(value: object) -> str:
    """A bound as the author wrote it in JSON: 2024, "2024-13-01"."""
    return str(value) if isinstance(value, Decimal) else json.dumps(value)


def _result_literals(node: Node):
    """The literals an expression can yield as its value (case branches, coalesce/min/max arguments)."""
    if isinstance(node, Literal) and not isinstance(node.value, bool):
        value = node.value
        yield int(value) if isinstance(value, Decimal) and value == value.to_integral_value() else value
    elif isinstance(node, Case):
        for _, value in node.whens:
            yield from _result_literals(value)
        if node.default is not None:
            yield from _result_literals(node.default)
    elif isinstance(node, Call) and node.name in ("coalesce", "min", "max"):
        for arg in node.args:
            yield from _result_literals(arg)


def _is_date(text: object) -> bool:
    try:
        dt.date.fromisoformat(str(text))
        return True
    except ValueError:
        return False


def _is_datetime(text: object) -> bool:
    try:
        return dt.datetime.fromisoformat(str(text)).tzinfo is not None
    except ValueError:
        return False


def _value_graph(forms: dict[str, FormSpec]) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """Which (form, field) values each derived value or visibility reads."""
    graph: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for form in forms.values():
        for spec in form.fields.values():
            deps: set[tuple[str, str]] = set()
            exprs = [spec.derive, spec.show_if]
            if spec.id == form.result_field:
                exprs += [c.compiled for c in form.criteria]
            for compiled in exprs:
                for ref in compiled.refs if compiled else ():
                    if isinstance(ref, LocalRef):
                        deps.add((form.id, ref.field))
                    elif isinstance(ref, ColumnRef):
                        deps.add((form.id, ref.group))
                    elif isinstance(ref, ExternalRef) and ref.field != "*":
                        deps.add((ref.form, ref.field))
            graph[(form.id, spec.id)] = deps
    return graph


def _find_cycle(graph: dict[tuple[str, str], set[tuple[str, str]]]) -> list[tuple[str, str]] | None:
    state: dict[tuple[str, str], int] = {}
    stack: list[tuple[str, str]] = []

    def visit(node: tuple[str, str]) -> list[tuple[str, str]] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep) :] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def build_study(
    study: Study, forms: dict[str, FormDef], files: dict[str, str], study_file: str, directory: Path
) -> tuple[StudyDefinition | None, list[DefinitionError]]:
    """Check and compile; returns the study, or None with every error found."""
    report = _Report()
    seen_visits: set[str] = set()
    for i, visit in enumerate(study.visits):
        if visit.id in seen_visits:
            report.add(study_file, f"$.visits[{i}].id", f"visit id {visit.id} appears twice")
        seen_visits.add(visit.id)
        for j, form_id in enumerate(visit.forms):
            if form_id == "*":
                if visit.id != UNSCHEDULED_VISIT:
                    report.add(
                        study_file,
                        f"$.visits[{i}].forms[{j}]",
                        '"*" (any visit form) is only for the unscheduled visit',
                    )
            elif form_id not in forms:
                report.add(study_file, f"$.visits[{i}].forms[{j}]", f"no form definition {form_id}.json in {directory}")
    if "NY" not in study.codelists:
        report.add(study_file, "$.codelists", "the yes/no code list NY is missing")
    index = FormIndex(study, forms)
    for form_id, visits in index.form_visits.items():
        if not visits:
            report.add(files[form_id], "$.id", f"form {form_id} is not scheduled at any visit in {study_file}")
    specs: dict[str, FormSpec] = {}
    for form_id, form in forms.items():
        specs[form_id] = _FormBuilder(index, form, files[form_id], report).build()
    cycle = _find_cycle(_value_graph(specs))
    if cycle:
        form_id, field_id = cycle[0]
        chain = " → ".join(f"{f}.{x}" for f, x in cycle)
        position = list(specs[form_id].fields).index(field_id)
        report.add(
            files[form_id],
            f"$.fields[{position}]",
            f"derived values and show-ifs depend on each other in a cycle: {chain}",
        )
    if report.errors:
        return None, report.errors
    return StudyDefinition(study, specs, directory, {k: Path(v) for k, v in files.items()}), []
