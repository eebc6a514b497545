"""A field value as it travels: JSON text that must be what a laptop's save could have stored.

The server reads every pushed value with the same typed readers the laptop's form uses, and applies
the hard checks (type, code list, hard range, length, pattern, calendar dates). Soft ranges stay
warnings: a confirmed out-of-range value is valid data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..definitions.spec import FieldSpec, FormSpec, StudyDefinition
from ..rules.coerce import Unreadable, check_value, read_rows, read_scalar
from ..rules.env import Clock
from .base import Refused, load_json

#: laptops' clocks and time zones run ahead of the server's: "today" and "now" bounds get this much slack
CLOCK_SLACK = dt.timedelta(days=2)


def form_at(study: StudyDefinition, form_id: str | None, visit_id: str | None) -> FormSpec:
    form = study.forms.get(form_id or "")
    if form is None:
        raise Refused(f"form {form_id!r} is not a form of this study")
    if (visit_id, form_id) not in _collected(study):
        raise Refused(f"form {form_id} is not collected at visit {visit_id}")
    return form


_COLLECTED: dict[int, tuple[StudyDefinition, frozenset[tuple[str, str]]]] = {}


def _collected(study: StudyDefinition) -> frozenset[tuple[str, str]]:
    """(visit, form) pairs of the schedule, computed once per loaded study (checked for every change)."""
    cached = _COLLECTED.get(id(study))
    if cached is None or cached[0] is not study:
        cached = (study, frozenset((v, f) for v in study.visit_ids() for f in study.forms_at(v)))
        _COLLECTED[id(study)] = cached
    return cached[1]


def entered_field(study: StudyDefinition, form_id: str | None, visit_id: str | None, field_id: str | None) -> FieldSpec:
    """The field a change writes, refusing fields nobody may type (derived, set by the server)."""
    form = form_at(study, form_id, visit_id)
    spec = form.fields.get(field_id or "")
    if spec is None:
        raise Refused(f"{field_id}: form {form_id} has no field {field_id}")
    if spec.definition.type == "derived":
        raise Refused(f"{field_id}: is derived (computed), it is never entered")
    if spec.definition.entry == "server":
        raise Refused(f"{field_id}: is set by the central server, never by a laptop")
    if not form.applies(spec.id, visit_id or ""):
        raise Refused(f"{field_id}: is not collected at visit {visit_id}")
    return spec


#: verdicts already reached, by field, value text and day ("today" bounds move at midnight): a push or a
#: pulled page repeats the same values (codes, dates, normal readings) thousands of times
_VERDICTS: dict[tuple[str, int, str, dt.date], str | None] = {}
_MAX_VERDICTS = 200_000


def check_value_json(spec: FieldSpec, value_json: str | None) -> None:
    """Refuse a value its field could not hold; None (a cleared field) is always valid."""
    if value_json is None:
        return
    key = (spec.id, id(spec), value_json, dt.date.today())
    if key not in _VERDICTS:
        if len(_VERDICTS) >= _MAX_VERDICTS:
            _VERDICTS.clear()
        try:
            _check(spec, value_json)
            _VERDICTS[key] = None
        except Refused as exc:
            _VERDICTS[key] = str(exc)
    problem = _VERDICTS[key]
    if problem is not None:
        raise Refused(problem)


def _check(spec: FieldSpec, value_json: str) -> None:
    raw = load_json(value_json, spec.id, exact=True)
    clock = Clock(dt.datetime.now(dt.UTC) + CLOCK_SLACK)
    if spec.kind == "group":
        rows, issues = read_rows(spec, raw)
        if rows is None and issues:
            raise Refused(f"{spec.id}: {issues[0].message.en}")
        _problems(spec, issues)
        columns = {sub.id: sub for sub in spec.sub_fields}
        for index, row in enumerate(rows or []):
            for key, value in row.items():
                if value is not None:
                    _problems(spec, check_value(columns[key], value, clock, row=index, field_id=spec.id))
        return
    if isinstance(raw, (dict, list)) and spec.kind != "multichoice":
        raise Refused(f"{spec.id}: {_short(raw)} is not a single value")
    try:
        typed = read_scalar(spec, raw)
    except Unreadable as exc:
        raise Refused(f"{spec.id}: {exc.message.en}") from None
    if typed is None:
        raise Refused(f"{spec.id}: an empty value is sent as a cleared field, not as {_short(raw)}")
    if spec.kind != "multichoice":
        _problems(spec, check_value(spec, typed, clock))


def _problems(spec: FieldSpec, issues: list[Any]) -> None:
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        first = errors[0]
        where = f" (row {first.row + 1}, {first.column})" if first.row is not None else ""
        raise Refused(f"{spec.id}{where}: {first.message.en}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
