"""The schedule as a subject walks it: which visits are done, which is next, which are overdue.

Pure functions over a subject's form instances (no session, no store), so the subject list, the
schedule grid and the dashboard share one reading of the protocol's schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..definitions.models import Visit as Visit_
from ..definitions.schedule import VisitWindow, visit_window
from ..definitions.spec import SUBJECT_VISIT, UNSCHEDULED_VISIT, StudyDefinition

SubjectStatus = Literal["screening", "eligible", "randomized", "in follow-up", "ended"]
FINISHED: frozenset[str] = frozenset({"complete", "signed", "locked"})
RANDOMIZATION = "randomization"  # the visit and the form whose server-set values are the allocation


@dataclass(slots=True)
class _Inst:
    visit: str
    repeat: int
    id: str
    form: str
    status: str
    values: dict[str, Any]


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _anchors(insts: Sequence[_Inst]) -> dict[str, dt.date]:
    anchors: dict[str, dt.date] = {}
    d0 = [d for i in insts if i.form == "infusion" and (d := _date(i.values.get("INFSTDTC")))]
    if d0:
        anchors["D0"] = min(d0)
    for anchor, form, field in (("eligibility", "eligibility", "IEDAT"), ("consent", "consent", "ICFDAT")):
        found = [d for i in insts if i.form == form and i.visit == "screening" and (d := _date(i.values.get(field)))]
        if found:
            anchors[anchor] = min(found)
    return anchors


def _scheduled(study: StudyDefinition) -> list[str]:
    return [v for v in study.visit_ids() if v not in (SUBJECT_VISIT, UNSCHEDULED_VISIT)]


@dataclass(frozen=True)
class _Plan:
    """The schedule as lookups, built once per study (the subject list walks it for every subject)."""

    scheduled: tuple[str, ...]
    form_sets: dict[str, frozenset[str]]
    visits: dict[str, Visit_]


_PLANS: dict[int, tuple[StudyDefinition, _Plan]] = {}


def _plan(study: StudyDefinition) -> _Plan:
    cached = _PLANS.get(id(study))
    if cached is not None and cached[0] is study:
        return cached[1]
    scheduled = tuple(_scheduled(study))
    plan = _Plan(
        scheduled,
        {v: frozenset(study.forms_at(v)) for v in scheduled},
        {v.id: v for v in study.study.visits},
    )
    _PLANS[id(study)] = (study, plan)
    return plan


def _done_visits(plan: _Plan, insts: Sequence[_Inst], randomized: bool) -> set[str]:
    """Scheduled visits whose every form exists with every instance complete, signed or locked; the
    randomization visit is done when, and only when, the allocation is here (whatever its form's status)."""
    finished: dict[str, set[str]] = {}
    unfinished: dict[str, set[str]] = {}
    for inst in insts:
        (finished if inst.status in FINISHED else unfinished).setdefault(inst.visit, set()).add(inst.form)
    done = {
        visit
        for visit, forms in finished.items()
        if visit in plan.form_sets
        and plan.form_sets[visit] <= forms
        and not (plan.form_sets[visit] & unfinished.get(visit, set()))
    }
    if RANDOMIZATION in plan.form_sets:
        done.discard(RANDOMIZATION)
        if randomized:
            done.add(RANDOMIZATION)
    return done


@dataclass(frozen=True)
class _Due:
    next_visit: str | None
    next_window: VisitWindow | None
    overdue_visits: tuple[str, ...]


def _due(
    plan: _Plan,
    insts: Sequence[_Inst],
    status: SubjectStatus,
    anchors: dict[str, dt.date],
    today: dt.date,
    randomized: bool,
) -> _Due:
    """The next visit (first not done from the last visit with data) and every overdue visit.

    Nothing is due for an ended subject, nor for a screen failure (screening done, still not eligible).
    """
    done = _done_visits(plan, insts, randomized)
    if status == "ended" or (status == "screening" and "screening" in done):
        return _Due(None, None, ())
    scheduled = plan.scheduled
    if RANDOMIZATION in scheduled and RANDOMIZATION not in done:
        # not randomized: nothing after randomization is due yet, whatever was saved there
        scheduled = scheduled[: scheduled.index(RANDOMIZATION) + 1]
        insts = [i for i in insts if i.visit in scheduled and (i.visit != RANDOMIZATION or i.values)]
    with_data = {i.visit for i in insts}
    last = max((n for n, v in enumerate(scheduled) if v in with_data), default=0)
    visit = next((v for v in scheduled[last:] if v not in done), None)
    overdue = []
    for candidate in scheduled:
        if candidate in done:
            continue
        window = visit_window(plan.visits[candidate], anchors)
        if window is not None and today > window.latest:
            overdue.append(candidate)
    window = visit_window(plan.visits[visit], anchors) if visit else None
    return _Due(visit, window, tuple(overdue))
