"""Values as the exports write them: entered values as stored, derived ones computed by the rules
engine on the subject's data, direct identifiers withheld unless asked for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...definitions.endpoints import read_identifiers
from ...definitions.spec import FieldSpec, FormSpec, StudyDefinition
from ...rules import Clock, RulesEngine
from ...rules.env import Resolver
from .dataset import Dataset, InstanceRecord, SubjectRecord
from .endpoints import subject_data

MULTI_SEPARATOR = "|"


def text(value: Any) -> str:
    """One value as text: ISO dates, decimals without exponent, multiple codes joined by '|'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(Decimal(str(value)), "f")
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return MULTI_SEPARATOR.join(text(v) for v in value)
    return str(value)


def label(spec: FieldSpec, value: Any, language: str) -> str:
    """The code list label(s) of a coded value ("" for an uncoded field or a missing value)."""
    if value is None or not spec.codes:
        return ""
    items = value if isinstance(value, (list, tuple)) else [value]
    return MULTI_SEPARATOR.join(spec.code_label(v, language) or text(v) for v in items)


@dataclass(frozen=True)
class FilledInstance:
    subject: SubjectRecord
    instance: InstanceRecord
    form: FormSpec
    values: dict[str, Any]  # field id -> value (entered as stored, derived computed); missing: absent
    repeat: int  # 1-based, among the subject's instances of this form at this visit


def exported_fields(form: FormSpec, withheld: frozenset[tuple[str, str]]) -> list[FieldSpec]:
    return [spec for spec in form.fields.values() if (form.id, spec.id) not in withheld]


def withheld_fields(dataset: Dataset, study: StudyDefinition) -> frozenset[tuple[str, str]]:
    return frozenset() if dataset.identified else read_identifiers(study)


def filled(dataset: Dataset, study: StudyDefinition, engine: RulesEngine | None = None) -> Iterator[FilledInstance]:
    """Every instance of every subject (site, number, schedule order), with its derived values."""
    engine = engine or RulesEngine(study)
    withheld = withheld_fields(dataset, study)
    clock = Clock(dataset.created_at)
    order = {v.id: i for i, v in enumerate(study.study.visits)}
    for subject in sorted(dataset.subjects, key=lambda s: (s.site, s.number)):
        instances = dataset.instances_of(subject.id)
        resolver = Resolver(subject_data(dataset, subject), clock, engine.effective_values)
        counters: dict[tuple[str, int, str], int] = {}
        for instance in sorted(instances, key=lambda i: (order.get(i.visit, 999), i.visit_repeat)):
            form = study.forms.get(instance.form)
            if form is None:
                continue  # a form this definition set does not know (a later amendment's): not exportable here
            key = (instance.visit, instance.visit_repeat, instance.form)
            counters[key] = counters.get(key, 0) + 1
            values: dict[str, Any] = {}
            lazy = None
            for spec in form.fields.values():
                if (form.id, spec.id) in withheld:
                    continue
                if spec.definition.type == "derived":
                    if lazy is None:
                        lazy = engine.effective_values(form.id, instance.visit, instance.values, resolver)
                    value = lazy.get(spec.id)
                else:
                    value = instance.values.get(spec.id)
                if value is not None and value != [] and value != "":
                    values[spec.id] = value
            yield FilledInstance(subject, instance, form, values, counters[key])
