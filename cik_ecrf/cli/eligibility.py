"""`cik-ecrf eligibility --values FILE.json`: the section-4 check on screening values given as JSON.

Bad input (unreadable JSON, unknown forms or fields, values of the wrong type, a derived value that
disagrees with its sources) is reported as `FILE: $.form.FIELD: message` lines and exit 1; nothing
is evaluated on bad input.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..definitions.errors import DefinitionErrors
from ..definitions.expr.types import ref_name
from ..definitions.loader import load_study
from ..definitions.spec import StudyDefinition
from ..rules import Clock, EligibilityResult, RulesEngine, SubjectData
from ..rules.coerce import Unreadable, read_rows, read_scalar
from ..rules.jsonvalues import to_json

SCREENING = "screening"
ELIGIBILITY_FORM = "eligibility"


class BadInput(Exception):
    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def _read_values(path: Path) -> tuple[Any, str]:
    display = "<stdin>" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput([f"{display}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise BadInput([f"{display}: not UTF-8 text"]) from None
    try:
        return json.loads(text, parse_float=Decimal), display
    except json.JSONDecodeError as exc:
        raise BadInput([f"{display}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}"]) from None


def screening_subject(study: StudyDefinition, data: Any, display: str) -> SubjectData:
    """Check the values file against the screening forms; every problem is collected."""
    if not isinstance(data, dict):
        raise BadInput([f'{display}: $: expected an object of forms, {{"form_id": {{"FIELD": value}}}}'])
    allowed = study.forms_at(SCREENING)
    problems: list[str] = []
    forms: dict[tuple[str, str], dict[str, Any]] = {}
    for form_id, values in data.items():
        where = f"{display}: $.{form_id}"
        if form_id not in allowed:
            problems.append(f"{where}: not a screening form (expected one of {', '.join(allowed)})")
            continue
        if not isinstance(values, dict):
            problems.append(f"{where}: expected an object of field values")
            continue
        form = study.forms[form_id]
        for field_id, raw in values.items():
            spec = form.fields.get(field_id)
            if spec is None:
                problems.append(f"{where}.{field_id}: form {form_id} has no field {field_id}")
                continue
            if spec.definition.type == "derived":
                continue  # compared with the computed value below
            try:
                if spec.definition.type == "group":
                    _, issues = read_rows(spec, raw)
                    problems += [f"{where}.{i.location()}: {i.message.en}" for i in issues]
                else:
                    read_scalar(spec, raw)
            except Unreadable as exc:
                problems.append(f"{where}.{field_id}: {exc.message.en}")
        forms[(SCREENING, form_id)] = values
    if problems:
        raise BadInput(problems)
    return SubjectData.of(forms)


def _derived_disagreements(
    engine: RulesEngine, subject: SubjectData, data: dict[str, Any], display: str, clock: Clock
) -> list[str]:
    problems: list[str] = []
    for (visit, form_id), instances in subject.forms.items():
        form = engine.study.forms[form_id]
        derived = {
            f: v for f, v in instances[0].items() if f in form.fields and form.fields[f].definition.type == "derived"
        }
        if not derived:
            continue
        computed_values = engine.evaluate(form_id, visit, instances[0], subject, clock).values  # once per form
        for field_id, given in derived.items():
            spec = form.fields[field_id]
            computed = computed_values.get(field_id)
            if to_json(computed) != to_json(given):
                sources = ", ".join(sorted(ref_name(r) for r in (spec.derive.refs if spec.derive else ())))
                problems.append(
                    f"{display}: $.{form_id}.{field_id}: is derived ({sources or 'computed'}) and comes out as "
                    f"{json.dumps(to_json(computed))}, not {json.dumps(to_json(given), default=str)}; give its sources instead"
                )
    return problems


def evaluate_file(study: StudyDefinition, path: Path, clock: Clock | None = None) -> EligibilityResult:
    data, display = _read_values(path)
    subject = screening_subject(study, data, display)
    engine = RulesEngine(study)
    clock = clock or Clock.system()
    problems = _derived_disagreements(engine, subject, data, display, clock)
    if problems:
        raise BadInput(problems)
    own = subject.instances(SCREENING, ELIGIBILITY_FORM)
    evaluation = engine.evaluate(ELIGIBILITY_FORM, SCREENING, own[0] if own else {}, subject, clock)
    assert evaluation.eligibility is not None
    return evaluation.eligibility


def format_result(result: EligibilityResult) -> str:
    verdict = {"Y": "ELIGIBLE", "N": "NOT ELIGIBLE", None: "NOT EVALUABLE"}[result.eligible]
    lines = [f"Eligibility: {verdict}"]
    for c in result.criteria:
        values = ", ".join(f"{k}={json.dumps(to_json(v), ensure_ascii=False)}" for k, v in c.values.items())
        lines.append(f"  {c.id:<7} {c.outcome:<14} {values}")
    return "\n".join(lines)


def run_eligibility(values: Path, as_json: bool, forms: Path | None) -> int:
    try:
        study = load_study(forms)
        result = evaluate_file(study, values)
    except DefinitionErrors as exc:
        print(exc, file=sys.stderr)
        return 1
    except BadInput as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    else:
        print(format_result(result))
    return 0
