"""The endpoint dataset (ADaM ADTTE-shaped): one row per subject and parameter, as crf-spec §5 and the
study's "endpoints" block (forms/study.json) define it.

Nothing here knows what EFS or LADA mean: the variables, the events and the censoring rules are the
study's expressions, evaluated on each subject's effective values (derived fields such as
response.QUALRESP computed by the rules engine). This module only applies the shape every parameter
has: the earliest applicable event on or after the start decides; otherwise the first censoring
date known, never before the start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...definitions.endpoints import EVERY_VISIT, CompiledParameter, EndpointRules, read_endpoints
from ...definitions.expr.compiler import Compiled
from ...definitions.expr.types import ExternalRef, LocalRef, RowsRef
from ...definitions.expr.values import PartialDate
from ...definitions.spec import StudyDefinition
from ...rules import Clock, RulesEngine
from ...rules.env import Resolver, SubjectData
from .dataset import Dataset, SubjectRecord

COLUMNS = (
    "STUDYID",
    "USUBJID",
    "ARM",
    "PARAMCD",
    "PARAM",
    "STARTDT",
    "ADT",
    "AVAL",
    "CNSR",
    "EVNTDESC",
    "CNSDTDSC",
    "SRCDOM",
    "SRCVAR",
)
EXCLUDED_COLUMNS = ("STUDYID", "USUBJID", "REASON", "REASON_ZH")
LATEST_SOURCE = "\0latest_source"  # (form, field) of the subject's latest date; no variable can be named so


@dataclass(frozen=True)
class EndpointRow:
    studyid: str
    usubjid: str
    arm: str | None  # None when blinded: the column is not written at all
    paramcd: str
    param: str
    startdt: dt.date
    adt: dt.date
    aval: int  # ADT − STARTDT + 1, days
    cnsr: int  # 0 event, 1 censored
    evntdesc: str
    cnsdtdsc: str
    srcdom: str
    srcvar: str
    rule: str  # the id of the rule that decided (RELAPSE, LADA, ...)

    def record(self, with_arm: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"STUDYID": self.studyid, "USUBJID": self.usubjid}
        if with_arm:
            out["ARM"] = self.arm or ""
        out |= {
            "PARAMCD": self.paramcd,
            "PARAM": self.param,
            "STARTDT": self.startdt.isoformat(),
            "ADT": self.adt.isoformat(),
            "AVAL": self.aval,
            "CNSR": self.cnsr,
            "EVNTDESC": self.evntdesc,
            "CNSDTDSC": self.cnsdtdsc,
            "SRCDOM": self.srcdom,
            "SRCVAR": self.srcvar,
        }
        return out


@dataclass(frozen=True)
class Excluded:
    """A subject left out of the dataset (no T0), with the study's reason in both languages."""

    studyid: str
    usubjid: str
    reason_en: str
    reason_zh: str

    def record(self) -> dict[str, str]:
        return {"STUDYID": self.studyid, "USUBJID": self.usubjid, "REASON": self.reason_en, "REASON_ZH": self.reason_zh}


@dataclass(frozen=True)
class EndpointData:
    rows: tuple[EndpointRow, ...]
    excluded: tuple[Excluded, ...]
    unblinded: bool

    def columns(self) -> tuple[str, ...]:
        return COLUMNS if self.unblinded else tuple(c for c in COLUMNS if c != "ARM")

    def records(self) -> list[dict[str, Any]]:
        return [row.record(self.unblinded) for row in self.rows]


class SubjectEnv:
    """What the endpoint expressions read: declared variables, and the subject's forms at every visit."""

    __slots__ = ("local", "row", "resolver", "clock", "order")

    def __init__(
        self,
        local: dict[str, Any],
        resolver: Resolver,
        order: Mapping[str, int],
        row: Any = None,
    ) -> None:
        self.local = local
        self.row = row
        self.resolver = resolver
        self.clock = resolver.clock
        self.order = order

    def _every(self, form: str) -> list[Any]:
        visits = sorted({v for v, f in self.resolver.subject.forms if f == form}, key=lambda v: self.order.get(v, 999))
        return [row for visit in visits for row in self.resolver.instances(visit, form)]

    def read(self, ref: ExternalRef) -> Any:
        if ref.visit == EVERY_VISIT:
            values = [row.get(ref.field) for row in self._every(ref.form)]
            return values or None
        rows = self.resolver.instances(ref.visit or "", ref.form)
        if ref.many:
            return [row.get(ref.field) for row in rows] if rows else None
        return rows[0].get(ref.field) if rows else None

    def rows(self, ref: RowsRef) -> list[Any]:
        if ref.visit == EVERY_VISIT:
            return self._every(ref.form or "")
        return self.resolver.instances(ref.visit or "", ref.form or "")

    def with_row(self, row: Any) -> SubjectEnv:
        return SubjectEnv(self.local, self.resolver, self.order, row)

    def latest_subject_date(self) -> dt.date | None:
        """The latest date of any kind for the subject; where it came from is kept in `latest_source`
        (form, field), so a rule dated by it can name its real source (SRCDOM/SRCVAR)."""
        latest: dt.date | None = None
        source: tuple[str, str] | None = None
        for visit, form in self.resolver.subject.forms:
            for values in self.resolver.instances(visit, form):
                for field_id, value in _dates(values.all()):
                    if latest is None or value > latest:
                        latest, source = value, (form, field_id)
        self.local[LATEST_SOURCE] = source
        return latest


def _dates(values: Mapping[str, Any], prefix: str = "") -> Any:
    for field_id, value in values.items():
        if isinstance(value, dt.datetime):
            yield prefix + field_id, value.date()
        elif isinstance(value, dt.date):
            yield prefix + field_id, value
        elif isinstance(value, PartialDate):
            yield prefix + field_id, value.lower
        elif isinstance(value, list):
            for row in value:
                if isinstance(row, Mapping):
                    yield from _dates(row, f"{field_id}.")


def subject_data(dataset: Dataset, subject: SubjectRecord) -> SubjectData:
    forms: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for instance in dataset.instances_of(subject.id):
        forms.setdefault((instance.visit, instance.form), []).append(instance.values)
    return SubjectData({key: tuple(v) for key, v in forms.items()})


def _dated_by_latest(compiled: Compiled, latest_vars: set[str]) -> bool:
    return compiled.uses_subject_dates or any(isinstance(r, LocalRef) and r.field in latest_vars for r in compiled.refs)


def _decide(parameter: CompiledParameter, env: SubjectEnv, start: dt.date) -> tuple[dt.date, int, Any]:
    best = None
    for index, rule in enumerate(parameter.events):
        if rule.when is not None and rule.when.fn(env) is not True:
            continue
        date = rule.date.fn(env)
        if date is None or date < start:
            continue
        if best is None or (date, index) < best[:2]:
            best = (date, index, rule)
    if best is not None:
        return best[0], 0, best[2]
    for rule in parameter.censors:
        date = rule.date.fn(env)
        if date is not None:
            return max(date, start), 1, rule
    return start, 1, parameter.start


def derive(
    dataset: Dataset, study: StudyDefinition, rules: EndpointRules | None = None, engine: RulesEngine | None = None
) -> EndpointData:
    """Every subject's endpoint rows, and the subjects left out with their reason."""
    rules = rules or read_endpoints(study)
    if rules is None:
        return EndpointData((), (), dataset.arms is not None)
    engine = engine or RulesEngine(study)
    clock = Clock(dataset.created_at)
    order = {v.id: i for i, v in enumerate(study.study.visits)}
    latest_vars: set[str] = set()  # variables dated by latest_subject_date(), directly or through others
    for variable, compiled in rules.variables:
        if _dated_by_latest(compiled, latest_vars):
            latest_vars.add(variable.id)
    rows: list[EndpointRow] = []
    excluded: list[Excluded] = []
    for subject in sorted(dataset.subjects, key=lambda s: (s.site, s.number)):
        usubjid = f"{dataset.study_id}-{subject.number}"
        resolver = Resolver(subject_data(dataset, subject), clock, engine.effective_values)
        env = SubjectEnv({}, resolver, order)
        for variable, compiled in rules.variables:
            env.local[variable.id] = compiled.fn(env)
        missing = next((req for req, rule in rules.requires if rule.fn(env) is not True), None)
        if missing is not None:
            excluded.append(Excluded(dataset.study_id, usubjid, missing.message.en, missing.message.zh))
            continue
        arm = dataset.arms.get(subject.id) if dataset.arms is not None else None
        for parameter in rules.parameters:
            if parameter.population is not None and parameter.population.fn(env) is not True:
                continue
            start = parameter.start.date.fn(env)
            if start is None:
                continue
            adt, cnsr, rule = _decide(parameter, env, start)
            description = rule.rule.description.en
            domain, variable = rule.domain, rule.variable
            if _dated_by_latest(rule.date, latest_vars) and env.local.get(LATEST_SOURCE):
                domain, variable = env.local[LATEST_SOURCE]
            rows.append(
                EndpointRow(
                    dataset.study_id,
                    usubjid,
                    arm,
                    parameter.model.paramcd,
                    parameter.model.param.en,
                    start,
                    adt,
                    (adt - start).days + 1,
                    cnsr,
                    description if cnsr == 0 else "",
                    description if cnsr == 1 else "",
                    domain,
                    variable,
                    rule.rule.id,
                )
            )
    return EndpointData(tuple(rows), tuple(excluded), dataset.arms is not None)
