"""Evaluating one form instance, fully or incrementally after one field changes.

`RulesEngine` holds the graphs built at load; a `FormSession` holds one instance's state. After
`set_value`, only the nodes that (transitively) read the changed field run again, in topological order,
and the returned `Delta` names exactly the fields whose state moved.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

from ..definitions.spec import FieldSpec, FormSpec, StudyDefinition
from .coerce import Unreadable, check_value, output_value, read_rows, read_scalar
from .eligibility import evaluate_criteria
from .env import Clock, Env, Resolver, SubjectData
from .graph import CHK, CRIT, DER, REQ, VAL, VIS, FormGraph, GraphNode, build_graph
from .results import Delta, EligibilityResult, FormEvaluation, Issue, Message


class RulesEngine:
    """The study's rules, with every form's dependency graph built once."""

    def __init__(self, study: StudyDefinition) -> None:
        self.study = study
        self.graphs: dict[str, FormGraph] = {form_id: build_graph(form) for form_id, form in study.forms.items()}
        self._reads: dict[str, frozenset[str] | None] = {}

    def forms_read_by(self, form_id: str) -> frozenset[str] | None:
        """Every form whose values evaluating `form_id` may read (transitively), or None for "all of them".

        Lets a caller load only what the rules need instead of a subject's whole history on each save.
        """
        if form_id in self._reads:
            return self._reads[form_id]
        seen: set[str] = set()
        todo = [form_id]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            form = self.study.forms[current]
            # Another form is read for its values only (show-ifs, derivations, the eligibility result),
            # never for its checks; the form being evaluated runs everything.
            compiled = [c for spec in form.fields.values() for c in (spec.show_if, spec.derive) if c]
            compiled += [c.compiled for c in form.criteria]
            if current == form_id:
                compiled += [spec.required_if for spec in form.fields.values() if spec.required_if]
                compiled += [c.compiled for spec in form.fields.values() for c in spec.row_checks]
                compiled += [c.compiled for c in form.checks]
            for c in compiled:
                if c.uses_subject_dates:
                    self._reads[form_id] = None
                    return None
                todo += [ref.form for ref in c.external]
        result = frozenset(seen)
        self._reads[form_id] = result
        return result

    def session(
        self,
        form_id: str,
        visit_id: str,
        values: Mapping[str, Any] | None = None,
        subject: SubjectData | None = None,
        clock: Clock | None = None,
    ) -> FormSession:
        return FormSession(self, form_id, visit_id, values or {}, subject or SubjectData(), clock or Clock.system())

    def evaluate(
        self,
        form_id: str,
        visit_id: str,
        values: Mapping[str, Any],
        subject: SubjectData | None = None,
        clock: Clock | None = None,
    ) -> FormEvaluation:
        return self.session(form_id, visit_id, values, subject, clock).snapshot()

    def effective_values(self, form_id: str, visit_id: str, raw: Mapping[str, Any], resolver: Resolver) -> LazyValues:
        """Values another form reads: typed, derived, hidden ones missing; computed field by field."""
        return LazyValues(self.study.forms[form_id], visit_id, raw, resolver)


class LazyValues:
    """A stored form instance as other forms see it, each field computed only when read.

    Field by field rather than form by form, because forms read each other (consent reads
    demographics.AGE, which is derived from consent.ICFDAT) without any field depending on itself.
    """

    def __init__(self, form: FormSpec, visit: str, raw: Mapping[str, Any], resolver: Resolver) -> None:
        self.form = form
        self.raw: dict[str, Any] = {}
        for field_id, value in raw.items():
            spec = form.fields.get(field_id)
            if spec is None or spec.definition.type == "derived":
                continue
            try:
                self.raw[field_id] = (
                    read_rows(spec, value)[0] if spec.definition.type == "group" else read_scalar(spec, value)
                )
            except Unreadable:
                self.raw[field_id] = None
        self.cache: dict[str, Any] = {}
        self.busy: set[str] = set()
        self.env = Env(self, visit, form.id, resolver.clock, resolver)  # type: ignore[arg-type]

    def get(self, field_id: str, default: Any = None) -> Any:
        if field_id in self.cache:
            return self.cache[field_id]
        spec = self.form.fields.get(field_id)
        if spec is None or field_id in self.busy:
            return default
        self.busy.add(field_id)
        try:
            value = None
            if self.form.applies(field_id, self.env.visit) and (
                spec.show_if is None or spec.show_if.fn(self.env) is True
            ):
                if field_id == self.form.result_field:
                    value = evaluate_criteria(self.form, self.env)[0].eligible
                elif spec.derive is not None:
                    value = output_value(spec, spec.derive.fn(self.env))
                elif spec.definition.type != "derived":
                    value = self.raw.get(field_id)
        finally:
            self.busy.discard(field_id)
        self.cache[field_id] = value
        return value

    def all(self) -> dict[str, Any]:
        return {field_id: self.get(field_id) for field_id in self.form.fields}


class FormSession:
    def __init__(
        self,
        engine: RulesEngine,
        form_id: str,
        visit_id: str,
        values: Mapping[str, Any],
        subject: SubjectData,
        clock: Clock,
        resolver: Resolver | None = None,
    ) -> None:
        self.engine = engine
        self.graph = engine.graphs[form_id]
        self.form: FormSpec = self.graph.form
        self.visit = visit_id
        self.resolver = resolver or Resolver(subject, clock, engine.effective_values)
        self.raw: dict[str, Any] = {}
        self.read_issues: dict[str, tuple[Issue, ...]] = {}
        self.local: dict[str, Any] = {}
        self.visible: dict[str, bool] = {f: True for f in self.form.fields}
        self.required: dict[str, bool] = {f: spec.definition.required for f, spec in self.form.fields.items()}
        self.derived: dict[str, Any] = {}
        self.out: list[Any] = [None] * self.graph.size
        self.criteria: EligibilityResult | None = None
        self.env = Env(self.local, visit_id, form_id, clock, self.resolver)
        for field_id, raw in values.items():
            spec = self.form.fields.get(field_id)
            if spec is not None and not spec.definition.type == "derived":
                self._read(spec, raw)
        for field_id in self.form.fields:
            self._refresh_symbol(field_id)
        self.evaluate_all()

    # ------------------------------------------------------------------ input

    def _read(self, spec: FieldSpec, raw: Any) -> None:
        if spec.definition.type == "group":
            rows, issues = read_rows(spec, raw)
            self.raw[spec.id] = rows
            self.read_issues[spec.id] = tuple(issues)
            return
        try:
            self.raw[spec.id] = read_scalar(spec, raw)
            self.read_issues.pop(spec.id, None)
        except Unreadable as exc:
            self.raw[spec.id] = None
            self.read_issues[spec.id] = (Issue(spec.id, "error", "type", exc.message),)

    def _refresh_symbol(self, field_id: str) -> bool:
        """Recompute a field's effective value; True when it changed."""
        spec = self.form.fields[field_id]
        value = self.derived.get(field_id) if spec.definition.type == "derived" else self.raw.get(field_id)
        value = value if self.visible[field_id] else None
        if field_id in self.local and self.local[field_id] == value and type(self.local[field_id]) is type(value):
            return False
        self.local[field_id] = value
        return True

    # ------------------------------------------------------------------ evaluation

    def _run(self, node: GraphNode) -> Any:
        env = self.env
        kind = node.kind
        if kind == VIS:
            spec = self.form.fields[node.field or ""]
            applies = self.form.applies(spec.id, self.visit)
            return applies and (spec.show_if is None or spec.show_if.fn(env) is True)
        if kind == REQ:
            spec = self.form.fields[node.field or ""]
            return spec.definition.required or (spec.required_if is not None and spec.required_if.fn(env) is True)
        if kind == DER:
            spec = self.form.fields[node.field or ""]
            return output_value(spec, node.compiled.fn(env)) if node.compiled else None
        if kind == CRIT:
            return evaluate_criteria(self.form, env)
        if kind == VAL:
            return self._validate(self.form.fields[node.field or ""])
        assert kind == CHK and node.check is not None
        return _check_issues(node, env)

    def _apply(self, node: GraphNode, output: Any) -> None:
        """Store a node's output where the field state lives."""
        self.out[node.index] = output
        field_id = node.field or ""
        if node.kind == VIS:
            self.visible[field_id] = output
        elif node.kind == REQ:
            self.required[field_id] = output
        elif node.kind == DER:
            self.derived[field_id] = output
        elif node.kind == CRIT:
            self.criteria = output[0]
            self.derived[field_id] = output[0].eligible

    def evaluate_all(self) -> None:
        """Every node in order: the baseline the incremental path is measured against."""
        for node in self.graph.nodes:
            self._apply(node, self._run(node))
            if node.produces:
                self._refresh_symbol(node.produces)

    def set_value(self, field_id: str, raw: Any) -> Delta:
        """One keystroke: read the value, re-run only what depends on it, return what changed."""
        spec = self.form.fields.get(field_id)
        if spec is None:
            raise KeyError(f"form {self.form.id} has no field {field_id}")
        if spec.definition.type == "derived":
            raise ValueError(f"{field_id} is derived and cannot be entered")
        self._read(spec, raw)
        graph = self.graph
        heap: list[int] = []
        queued: set[int] = set()

        def push(index: int) -> None:
            if index not in queued:
                queued.add(index)
                heapq.heappush(heap, index)

        values: dict[str, Any] = {}
        visible: dict[str, bool] = {}
        required: dict[str, bool] = {}
        touched: set[str] = set()
        if field_id in graph.val_node:
            push(graph.val_node[field_id])
        if self._refresh_symbol(field_id):
            values[field_id] = self.local[field_id]
            for index in graph.readers.get(field_id, ()):
                push(index)
        evaluated = 0
        while heap:
            index = heapq.heappop(heap)
            node = graph.nodes[index]
            evaluated += 1
            output = self._run(node)
            if self.out[index] == output:
                continue
            self._apply(node, output)
            touched.update(node.issue_fields)
            target = node.field or ""
            if node.kind == VIS:
                visible[target] = output
                if target in graph.val_node:
                    push(graph.val_node[target])
            elif node.kind == REQ:
                required[target] = output
                if target in graph.val_node:
                    push(graph.val_node[target])
            if node.produces and self._refresh_symbol(node.produces):
                values[node.produces] = self.local[node.produces]
                for reader in graph.readers.get(node.produces, ()):
                    push(reader)
        issues = {f: self.issues_for(f) for f in touched}
        return Delta(values, visible, required, issues, evaluated)

    # ------------------------------------------------------------------ results

    def _validate(self, spec: FieldSpec) -> tuple[tuple[Issue, ...], tuple[str, ...]]:
        """A field's own issues and which of its required parts are empty."""
        field_id = spec.id
        if not self.visible[field_id]:
            return (), ()
        value = self.raw.get(field_id)
        issues: list[Issue] = list(self.read_issues.get(field_id, ()))
        missing: list[str] = []
        if spec.definition.type == "group":
            issues += self._validate_rows(spec, value or [], missing)
        elif value is not None:
            issues += check_value(spec, value, self.env.clock)
        if value is None and self.required[field_id] and not self.read_issues.get(field_id):
            missing.insert(0, field_id)
        return tuple(issues), tuple(missing)

    def _validate_rows(self, spec: FieldSpec, rows: list[dict[str, Any]], missing: list[str]) -> list[Issue]:
        d = spec.definition
        issues: list[Issue] = []
        if rows and d.min_rows is not None and len(rows) < d.min_rows:
            issues.append(
                Issue(
                    spec.id,
                    "error",
                    "rows",
                    Message(f"at least {d.min_rows} row(s) needed", f"至少需要 {d.min_rows} 行"),
                )
            )
        if d.max_rows is not None and len(rows) > d.max_rows:
            issues.append(
                Issue(
                    spec.id,
                    "error",
                    "rows",
                    Message(f"at most {d.max_rows} row(s) allowed", f"最多允许 {d.max_rows} 行"),
                )
            )
        for index, row in enumerate(rows):
            for sub in spec.sub_fields:
                cell = row.get(sub.id)
                if cell is None:
                    if sub.definition.required and not any(
                        i.row == index and i.column == sub.id for i in self.read_issues.get(spec.id, ())
                    ):
                        missing.append(f"{spec.id}[{index + 1}].{sub.id}")
                    continue
                issues += check_value(sub, cell, self.env.clock, row=index, field_id=spec.id)
            row_env = self.env.with_row(row)
            for check in spec.row_checks:
                if check.compiled.fn(row_env) is False:
                    issues.append(
                        Issue(
                            spec.id,
                            check.definition.severity,
                            check.id,
                            Message(check.definition.message.en, check.definition.message.zh),
                            row=index,
                            column=check.definition.fields[0],
                        )
                    )
        return issues

    def issues_for(self, field_id: str) -> tuple[Issue, ...]:
        out: list[Issue] = []
        for index in self.graph.issue_nodes.get(field_id, ()):
            output = self.out[index]
            if not output:
                continue
            node = self.graph.nodes[index]
            found = output[0] if node.kind == VAL else output[1] if node.kind == CRIT else output
            out += [i for i in found if i.field == field_id]
        return tuple(out)

    def snapshot(self) -> FormEvaluation:
        issues: list[Issue] = []
        missing: list[str] = []
        for field_id in self.form.fields:
            issues += self.issues_for(field_id)
            index = self.graph.val_node.get(field_id)
            if index is not None and self.out[index]:
                missing += self.out[index][1]
        values = {f: self.local.get(f) for f in self.form.fields}
        return FormEvaluation(
            self.form.id,
            self.visit,
            values,
            frozenset(f for f, shown in self.visible.items() if shown),
            frozenset(f for f, req in self.required.items() if req and self.visible[f]),
            tuple(issues),
            tuple(missing),
            self.criteria,
        )


def _check_issues(node: GraphNode, env: Env) -> tuple[Issue, ...]:
    check = node.check
    assert check is not None
    d = check.definition
    if d.visits is not None and env.visit not in d.visits:
        return ()
    if check.compiled.fn(env) is not False:
        return ()  # holds, or not evaluable: nothing to say yet
    message = Message(d.message.en, d.message.zh)
    return tuple(Issue(fid, d.severity, d.id, message) for fid in d.fields)
