"""What the server decides from its own copy of a subject's synced data: may the subject be
randomized (the design's requirements, e.g. eligibility.ELIGIBLE = Y and IECONF = Y), and which
stratum it falls in (e.g. demographics.AGE < 18). The rules are the design's, compiled with the study's
expression language and evaluated with the laptops' own rules engine, so a derived value (ELIGIBLE,
AGE) is computed on the server exactly as a laptop computes it, never taken from a laptop's word.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ...definitions.randomization import Design
from ...definitions.spec import StudyDefinition
from ...rules import Clock, RulesEngine, SubjectData
from ...rules.env import Env, Resolver
from ...rules.jsonvalues import to_json
from ..models import FieldState, Instance

VISIT = FORM = "randomization"


class NotRandomizable(Exception):
    """What stops a randomization, in English and Chinese (one line each)."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.zh = zh


_ENGINES: dict[int, tuple[StudyDefinition, RulesEngine]] = {}


def _engine(study: StudyDefinition) -> RulesEngine:
    """One rules engine per loaded study (its dependency graphs are built once)."""
    cached = _ENGINES.get(id(study))
    if cached is None or cached[0] is not study:
        cached = (study, RulesEngine(study))
        _ENGINES[id(study)] = cached
    return cached[1]


def subject_data(conn: Connection, subject_id: str) -> SubjectData:
    """Every form instance of the subject on the server, with its current values (as the laptop reads them)."""
    instances = {
        row.id: (row.visit_id, row.form_id)
        for row in conn.execute(
            select(Instance.id, Instance.visit_id, Instance.form_id).where(Instance.subject_id == subject_id)
        )
    }
    values: dict[str, dict[str, Any]] = {i: {} for i in instances}
    if instances:
        for row in conn.execute(
            select(FieldState.instance_id, FieldState.field_id, FieldState.value_json).where(
                FieldState.instance_id.in_(list(instances))
            )
        ):
            if row.value_json is not None:
                values[row.instance_id][row.field_id] = json.loads(row.value_json)
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for instance_id, key in instances.items():
        grouped.setdefault(key, []).append(values[instance_id])
    return SubjectData.of(grouped)


@dataclass(frozen=True)
class Decision:
    stratum: str
    values: dict[str, Any]  # factor id -> level, and each value read ("demographics.AGE" -> 34): frozen


def decide(study: StudyDefinition, design: Design, data: SubjectData, clock: Clock | None = None) -> Decision:
    """The subject's stratum, or NotRandomizable saying exactly what is missing or not met."""
    clock = clock or Clock(dt.datetime.now(dt.UTC))
    engine = _engine(study)
    resolver = Resolver(data, clock, engine.effective_values)
    env = Env({}, VISIT, FORM, clock, resolver)
    for requirement in design.requirements:
        if requirement.rule.fn(env) is True:
            continue
        missing = sorted(f"{r.form}.{r.field}" for r in requirement.rule.external if resolver.read(r, VISIT) is None)
        if missing:
            detail = _why_missing(study, data, clock, missing)
            raise NotRandomizable(
                f"not randomized: {', '.join(missing)} missing on the server{detail} (enter it and sync)",
                f"未随机化：服务器上缺少 {', '.join(missing)}{detail}（请填写并同步）",
            )
        raise NotRandomizable(f"not randomized: {requirement.message.en}", f"未随机化：{requirement.message.zh}")
    values: dict[str, Any] = {}
    levels = []
    for factor in design.factors:
        chosen = [level for level in factor.levels if level.rule.fn(env) is True]
        for level in factor.levels:
            for ref in level.rule.external:
                values[f"{ref.form}.{ref.field}"] = to_json(resolver.read(ref, VISIT))
        if len(chosen) != 1:
            read = ", ".join(f"{k} = {v if v is not None else 'missing'}" for k, v in sorted(values.items()))
            raise NotRandomizable(
                f"not randomized: the stratum {factor.id} cannot be derived ({read})",
                f"未随机化：无法确定分层因素 {factor.id}（{read}）",
            )
        values[factor.id] = chosen[0].code
        levels.append(chosen[0].code)
    return Decision("-".join(levels), values)


def _why_missing(study: StudyDefinition, data: SubjectData, clock: Clock, missing: list[str]) -> str:
    """For a derived eligibility result: which criteria could not be evaluated."""
    if not any(name.startswith("eligibility.") for name in missing) or not data.instances("screening", "eligibility"):
        return ""
    raw = data.instances("screening", "eligibility")[0]
    result = _engine(study).evaluate("eligibility", "screening", raw, data, clock).eligibility
    if result is None:
        return ""
    open_ = [c.id for c in result.criteria if c.outcome == "not evaluable"]
    return f" (criteria not evaluable: {', '.join(open_[:8])}{'…' if len(open_) > 8 else ''})" if open_ else ""
