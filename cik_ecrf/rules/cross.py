"""Rules that span forms, seen from either side.

A check is defined on one form but may read another (consent's "ICFDAT <= marrow_mrd.BMDAT", the
guardian's signature required from demographics' age). Evaluating the form that holds the check is
not enough: the nurse editing the *other* form must see that her value breaks it, and a form that
was completed must be flagged once a value elsewhere makes it fail. Both are computed here as data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..definitions.expr.types import ExternalRef
from .env import Clock, SubjectData
from .results import Issue, Message
from .session import RulesEngine


@dataclass(frozen=True)
class Dependent:
    """A rule of `form` that reads `field` of another form."""

    form: str
    kind: str  # "check" or "required"
    rule: str  # a check id, or the field made required
    field: str  # the field of the other form it reads


def dependents_of(engine: RulesEngine, form_id: str) -> tuple[Dependent, ...]:
    """The checks and required-ifs of other forms that read `form_id` (computed once per engine)."""
    cache: dict[str, tuple[Dependent, ...]] = engine.__dict__.setdefault("_cross_dependents", {})
    if form_id in cache:
        return cache[form_id]
    found: list[Dependent] = []
    for other in engine.study.forms.values():
        if other.id == form_id:
            continue
        for check in other.checks:
            for ref in _reads(check.compiled, form_id):
                found.append(Dependent(other.id, "check", check.id, ref.field))
        for spec in other.fields.values():
            if spec.required_if is not None:
                for ref in _reads(spec.required_if, form_id):
                    found.append(Dependent(other.id, "required", spec.id, ref.field))
    cache[form_id] = tuple(dict.fromkeys(found))
    return cache[form_id]


def _reads(compiled: Any, form_id: str) -> list[ExternalRef]:
    return [r for r in compiled.refs if isinstance(r, ExternalRef) and r.form == form_id and r.field != "*"]


def issues_elsewhere(
    engine: RulesEngine,
    form_id: str,
    visit_id: str,
    values: Mapping[str, Any],
    subject: SubjectData,
    clock: Clock,
) -> tuple[Issue, ...]:
    """What `values` (this form, being edited) break on the subject's other, already entered forms.

    Each issue is placed on the field of this form that the other form's rule reads, and its message
    names the other form: "Informed consent: Consent must be obtained on or before …".
    """
    dependents = dependents_of(engine, form_id)
    if not dependents:
        return ()
    forms = dict(subject.forms)
    forms[(visit_id, form_id)] = (values,)
    changed = SubjectData(forms)
    out: list[Issue] = []
    for other in dict.fromkeys(d.form for d in dependents):
        mine = [d for d in dependents if d.form == other]
        for (visit, form), instances in subject.forms.items():
            if form != other or visit != visit_id or len(instances) != 1:
                continue  # a rule of another visit reads that visit's copy of this form
            evaluation = engine.evaluate(other, visit, instances[0], changed, clock)
            title = engine.study.forms[other].definition.title
            for d in mine:
                if d.kind == "check":
                    failing = [i for i in evaluation.errors + evaluation.warnings if i.code == d.rule]
                    for issue in failing[:1]:
                        out.append(_moved(d, issue.severity, title, issue.message))
                elif d.rule in evaluation.missing_required:
                    label = engine.study.forms[other].fields[d.rule].definition.label
                    out.append(
                        _moved(
                            d,
                            "warning",
                            title,
                            Message(f"now needs “{label.en}” to be filled in", f"现在需要填写“{label.zh}”"),
                        )
                    )
    return tuple(dict.fromkeys(out))


def _moved(d: Dependent, severity: str, title: Any, message: Message) -> Issue:
    return Issue(
        d.field,
        severity,  # type: ignore[arg-type]
        f"{d.form}.{d.rule}",
        Message(f"{title.en}: {message.en}", f"{title.zh}：{message.zh}"),
        blocks_draft=False,
    )


def needs_attention(
    engine: RulesEngine, form_id: str, visit_id: str, values: Mapping[str, Any], subject: SubjectData, clock: Clock
) -> tuple[Issue, ...]:
    """Why a form stored as complete no longer passes its own rules (a value elsewhere moved); () if it does.

    Errors and unfilled required fields only: a form marked complete has had its warnings confirmed.
    """
    evaluation = engine.evaluate(form_id, visit_id, values, subject, clock)
    missing = tuple(
        Issue(
            m.split("[")[0],
            "error",
            "required",
            Message("is required but empty", "必填但未填写"),
        )
        for m in evaluation.missing_required
    )
    return evaluation.errors + missing
