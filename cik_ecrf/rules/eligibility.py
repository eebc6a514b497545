"""Eligibility as crf-spec section 4 defines it: each criterion's outcome with the values it read.

The rules themselves are data (forms/eligibility.json); only the way outcomes combine into ELIGIBLE
is fixed here, because the data dictionary fixes it: any unmet inclusion or present exclusion makes
the subject ineligible even while other criteria are not evaluable.
"""

from __future__ import annotations

from typing import Any

from ..definitions.expr.types import ColumnRef, ExternalRef, LocalRef
from ..definitions.spec import FormSpec
from .env import Env
from .results import CriterionResult, EligibilityResult, Issue, Message

_OUTCOMES = {(True, True): "met", (True, False): "not met", (False, True): "present", (False, False): "absent"}


def _sources(form: FormSpec, compiled: Any, env: Env) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for ref in sorted(compiled.refs, key=str):
        if isinstance(ref, LocalRef):
            values[f"{form.id}.{ref.field}"] = env.local.get(ref.field)
        elif isinstance(ref, ColumnRef):
            values[f"{form.id}.{ref.group}"] = env.local.get(ref.group)
        elif isinstance(ref, ExternalRef) and ref.field != "*":
            name = (
                f"{ref.form}@{ref.visit}.{ref.field}"
                if ref.visit and ref.visit != env.visit and ref.visit != "screening"
                else f"{ref.form}.{ref.field}"
            )
            values[name] = env.read(ref)
    return dict(sorted(values.items()))


def combine(results: tuple[CriterionResult, ...]) -> str | None:
    if any(r.outcome in ("not met", "present") for r in results):
        return "N"
    if any(r.outcome == "not evaluable" for r in results):
        return None
    return "Y"


def evaluate_criteria(form: FormSpec, env: Env) -> tuple[EligibilityResult, tuple[Issue, ...]]:
    results: list[CriterionResult] = []
    issues: list[Issue] = []
    assert form.definition.eligibility is not None
    block = form.definition.eligibility
    for criterion in form.criteria:
        value = criterion.compiled.fn(env)
        sources = _sources(form, criterion.compiled, env)
        outcome = "not evaluable" if value is None else _OUTCOMES[(criterion.inclusion, bool(value))]
        results.append(
            CriterionResult(criterion.id, criterion.inclusion, criterion.definition.source, outcome, sources)
        )  # type: ignore[arg-type]
        if value is None:
            missing = ", ".join(k for k, v in sources.items() if v is None) or "a value"
            issues.append(
                Issue(
                    block.result_field,
                    block.not_evaluable_severity,
                    criterion.id,
                    Message(
                        f"{criterion.id} is not evaluable: {missing} missing",
                        f"{criterion.id} 无法判定：缺少 {missing}",
                    ),
                    blocks_draft=False,
                )
            )
    result = EligibilityResult(combine(tuple(results)), tuple(results))
    return result, tuple(issues)
