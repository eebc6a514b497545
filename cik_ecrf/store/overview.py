"""Read-only overviews for the ward round: the subject list and one subject's schedule of events.

Results are frozen records built from one read transaction; no Qt here (the desktop client calls
these on its background worker and renders the records on the UI thread).

Status of a subject (issue 4, item 3), the first that applies:
  ended         an end_of_study or death form exists
  in follow-up  randomized, and an infusion form exists or any scheduled visit after D0 has data
  randomized    the server's allocation is on this laptop (`store.randomization`, not voided)
  eligible      the screening eligibility form's derived ELIGIBLE evaluates to Y
  screening     otherwise

Visit windows come from `definitions.schedule.visit_window` with the anchors D0 (date part of the
first infusion.INFSTDTC), eligibility (eligibility.IEDAT) and consent (consent.ICFDAT).

A visit is done when every one of its forms is complete, signed or locked: one saved form (consent at
screening) starts a visit, it does not finish it. The next visit is the first visit not done, counted
from the last visit that has data (a visit missed earlier does not hold the list back for ever, but it
stays flagged); every visit not done whose window has closed is overdue, not only the next one.

Randomization is the gate: its visit is done exactly when the server's allocation is on this laptop and
not voided (a randomization form without one, such as an empty one saved by hand before this rule,
counts for nothing). Until then the next visit is screening or randomization, never baseline or D0, and nothing
after randomization is counted as due or overdue; no subject is shown as randomized, or in follow-up,
without an allocation.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..definitions.schedule import VisitWindow, WindowStatus, visit_window
from ..definitions.spec import SUBJECT_VISIT, UNSCHEDULED_VISIT, StudyDefinition
from ..rules import Clock, SubjectData
from . import repository, save_sql
from .models import FieldValue, FormInstance, Subject, Visit
from .visit_plan import (
    SubjectStatus,
    _anchors,
    _date,
    _done_visits,
    _due,
    _Inst,
    _plan,
    _scheduled,
)

if TYPE_CHECKING:
    from .api import Store

FormStatus = Literal["not started", "draft", "complete", "signed", "locked"]

SUBJECT_STATUSES: tuple[SubjectStatus, ...] = ("screening", "eligible", "randomized", "in follow-up", "ended")
FORM_STATUSES: tuple[FormStatus, ...] = ("not started", "draft", "complete", "signed", "locked")

# A visit's date, read from its forms (the first of these found, earliest value across the visit's forms).
VISIT_DATE_FIELDS = ("INFSTDTC", "VSDAT", "LBDAT", "BMDAT", "RSDAT", "CPDAT", "LKADAT", "ICFDAT", "IEDAT", "RANDDTC")
# Fields whose values the subject list needs for every subject (anchors, randomization number and date).
_ANCHOR_FIELDS = {
    "infusion": ("INFSTDTC",),
    "randomization": ("RANDNO", "RANDDTC", "PRODID"),
    "eligibility": ("IEDAT",),
    "consent": ("ICFDAT",),
}
_END_FORMS = ("end_of_study", "death")
_LOG_SUMMARY = {
    "adverse_events": "AETERM",
    "conmeds": "CMTRT",
    "relapse": "RELDAT",
    "death": "DTHDAT",
    "end_of_study": "DSDECOD",
}


# ---------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SubjectRow:
    """One line of the subject list."""

    number: str
    status: SubjectStatus
    d0: dt.date | None  # date part of the first infusion start
    next_visit: str | None  # the first scheduled visit after the last one with data; None when ended or done
    next_window: VisitWindow | None  # its window, when its anchor date is known
    overdue: bool  # some visit not done is past the latest day of its window (the next one or another)
    overdue_visits: tuple[str, ...] = ()  # every such visit, in schedule order
    unblinded: bool = False  # the server marked the subject unblinded (never the arm: a laptop does not know it)

    @property
    def due(self) -> dt.date | None:
        return self.next_window.target if self.next_window else None


@dataclass(frozen=True)
class FormCell:
    """One form at one visit: its status and, when it exists, its instance(s)."""

    form: str
    status: FormStatus
    instances: tuple[str, ...] = ()  # oldest first; a repeating form may have several
    open_warnings: int = 0  # warnings not confirmed for the current values
    errors: int = 0  # errors now (a draft's, or a complete form's after another form changed)

    @property
    def instance(self) -> str | None:
        return self.instances[0] if self.instances else None


@dataclass(frozen=True)
class VisitRow:
    visit: str
    cells: tuple[FormCell, ...]  # in the order of the visit's forms
    window: VisitWindow | None
    date: dt.date | None  # the visit's date as read from its forms
    window_status: WindowStatus | None  # early / in window / late, when both date and window are known
    done: bool = False  # every form of the visit is complete, signed or locked
    overdue: bool = False  # not done, and today is past the latest day of its window

    @property
    def started(self) -> bool:
        return any(c.instances for c in self.cells)

    def cell(self, form: str) -> FormCell | None:
        return next((c for c in self.cells if c.form == form), None)


@dataclass(frozen=True)
class LogInstance:
    instance: str
    status: FormStatus
    summary: str  # e.g. the adverse event term, the medication


@dataclass(frozen=True)
class LogEntry:
    """A subject-level log form: adverse events and conmeds repeat, the others exist once at most."""

    form: str
    repeating: bool
    status: FormStatus  # the least finished of its instances ("not started" when none)
    entries: tuple[LogInstance, ...] = ()

    @property
    def count(self) -> int:
        return len(self.entries)


@dataclass(frozen=True)
class ScheduleGrid:
    number: str
    status: SubjectStatus
    d0: dt.date | None
    forms: tuple[str, ...]  # the grid's columns: every visit form, in schedule order
    rows: tuple[VisitRow, ...]  # every visit of the schedule except the subject-level logs
    logs: tuple[LogEntry, ...]
    next_visit: str | None
    overdue: bool  # some visit is overdue (see `overdue_visits`)
    warnings_evaluated: bool = True
    overdue_visits: tuple[str, ...] = ()
    unblinded: bool = False  # as SubjectRow.unblinded

    def row(self, visit: str) -> VisitRow:
        return next(r for r in self.rows if r.visit == visit)


# ---------------------------------------------------------------------------- reading


def _clock(today: dt.date) -> Clock:
    return Clock(dt.datetime.combine(today, dt.time(23, 59)).astimezone())


def _instances(
    session: Session, subject_ids: Sequence[str] | None, value_fields: Mapping[str, Iterable[str]] | None
) -> dict[str, list[_Inst]]:
    """Form instances per subject id, oldest first, with the values of `value_fields` (None: all values)."""
    query = (
        select(
            Visit.subject_id, Visit.visit_id, Visit.repeat, FormInstance.id, FormInstance.form_id, FormInstance.status
        )
        .join(FormInstance, FormInstance.visit_pk == Visit.id)
        .order_by(Visit.subject_id, FormInstance.created_at, FormInstance.id)
    )
    if subject_ids is not None:
        query = query.where(Visit.subject_id.in_(list(subject_ids)))
    out: dict[str, list[_Inst]] = {}
    by_id: dict[str, _Inst] = {}
    for subject_id, visit_id, repeat, instance_id, form_id, status in session.execute(query):
        inst = _Inst(visit_id, repeat, instance_id, form_id, status, {})
        out.setdefault(subject_id, []).append(inst)
        by_id[instance_id] = inst
    if not by_id:
        return out
    values = select(FieldValue.instance_id, FieldValue.field_id, FieldValue.value_json)
    if value_fields is not None:
        wanted = [i for i in by_id.values() if i.form in value_fields]
        fields = sorted({f for names in value_fields.values() for f in names})
        if not wanted or not fields:
            return out
        values = values.where(FieldValue.instance_id.in_([i.id for i in wanted]), FieldValue.field_id.in_(fields))
    elif subject_ids is not None:
        values = values.where(FieldValue.instance_id.in_(list(by_id)))
    for instance_id, field_id, value_json in session.execute(values):
        if instance_id in by_id:
            by_id[instance_id].values[field_id] = json.loads(value_json)
    return out


def _eligible(store: Store, session: Session, subject: Subject, today: dt.date) -> bool:
    needed = store.rules.forms_read_by("eligibility")
    data = repository.subject_data(session, subject, forms=None if needed is None else needed | {"eligibility"})
    own = data.instances("screening", "eligibility")
    if not own:
        return False
    evaluation = store.rules.evaluate("eligibility", "screening", own[0], data, _clock(today))
    return evaluation.eligibility is not None and evaluation.eligibility.eligible == "Y"


def _allocations(store: Store) -> dict[str, Any]:
    """Allocations in force on this laptop by subject id (the server's `randomized` event; one marked as
    made in error does not count). One query, before the overview's own read."""
    return {a.subject_id: a for a in store.randomization.allocations().values() if not a.voided}


def _status(
    store: Store, session: Session, subject: Subject, insts: Sequence[_Inst], today: dt.date, randomized: bool
) -> SubjectStatus:
    forms = {i.form for i in insts}
    if forms & set(_END_FORMS):
        return "ended"
    scheduled = _scheduled(store.study)
    after_d0 = set(scheduled[scheduled.index("D0") + 1 :]) if "D0" in scheduled else set()
    if randomized and ("infusion" in forms or any(i.visit in after_d0 for i in insts)):
        return "in follow-up"
    if randomized:
        return "randomized"
    if "eligibility" in forms and _eligible(store, session, subject, today):
        return "eligible"
    return "screening"


@dataclass(frozen=True)
class SubjectFacts:
    """What the study-level reports need of one subject, summed up from the subject list's own read."""

    statuses: Mapping[str, int]  # form instances by status
    started: frozenset[tuple[str, str]]  # (visit, form) pairs with at least one instance
    values: Mapping[str, tuple[Any, ...]]  # "form.FIELD" -> its stored values, for the anchor fields

    def first_date(self, key: str) -> dt.date | None:
        return min((d for v in self.values.get(key, ()) if (d := _date(v))), default=None)


def _facts(insts: Sequence[_Inst]) -> SubjectFacts:
    statuses: dict[str, int] = {}
    values: dict[str, list[Any]] = {}
    for inst in insts:
        statuses[inst.status] = statuses.get(inst.status, 0) + 1
        for name, value in inst.values.items():
            values.setdefault(f"{inst.form}.{name}", []).append(value)
    started = frozenset((i.visit, i.form) for i in insts)
    return SubjectFacts(statuses, started, {k: tuple(v) for k, v in values.items()})


def subject_rows(store: Store, today: dt.date | None = None) -> list[SubjectRow]:
    """Every subject of the store with its status, D0 and next visit due (one read transaction)."""
    return subject_overview(store, today)[0]


def subject_overview(store: Store, today: dt.date | None = None) -> tuple[list[SubjectRow], dict[str, SubjectFacts]]:
    """The subject list, and each subject's facts (by number) from the same single read: the
    dashboard counts from these rather than reading every instance again."""
    today = today or dt.date.today()
    store._require()
    plan = _plan(store.study)
    randomized = _allocations(store)
    with store.unit_of_work() as session:
        subjects = repository.subjects(session)
        by_subject = _instances(session, None, _ANCHOR_FIELDS)
        rows = []
        facts: dict[str, SubjectFacts] = {}
        for subject in subjects:
            insts = by_subject.get(subject.id, [])
            allocated = subject.id in randomized
            status = _status(store, session, subject, insts, today, allocated)
            anchors = _anchors(insts)
            due = _due(plan, insts, status, anchors, today, allocated)
            rows.append(
                SubjectRow(
                    subject.number,
                    status,
                    anchors.get("D0"),
                    due.next_visit,
                    due.next_window,
                    bool(due.overdue_visits),
                    due.overdue_visits,
                    allocated and randomized[subject.id].unblinded,
                )
            )
            facts[subject.number] = _facts(insts)
        return rows, facts


# ---------------------------------------------------------------------------- one subject


def _aggregate(statuses: Iterable[str]) -> FormStatus:
    """The least finished status of a form's instances (draft < complete < signed < locked)."""
    order = FORM_STATUSES[1:]
    known = [s for s in statuses if s in order]
    return min(known, key=order.index) if known else "not started"  # type: ignore[return-value]


def _visit_date(insts: Sequence[_Inst]) -> dt.date | None:
    for field in VISIT_DATE_FIELDS:
        found = [d for i in insts if (d := _date(i.values.get(field)))]
        if found:
            return min(found)
    return None


def _issues(store: Store, session: Session, inst: _Inst, data: SubjectData, clock: Clock) -> tuple[int, int]:
    """(open warnings, errors) of one instance: warnings confirmed for the current values do not count."""
    rules = store.rules
    if len(store.study_versions.versions) > 1:  # study versions: an instance is checked under its own
        from .study_versions import rules_for

        version = (
            session.connection()
            .exec_driver_sql("SELECT form_version FROM form_instance WHERE id = ?", (inst.id,))
            .scalar()
        )
        own = store.study_versions.study_for_form(inst.form, version)
        rules = rules_for(own) if own is not None and own is not store.study else rules
    evaluation = rules.evaluate(inst.form, inst.visit, inst.values, data, clock)
    confirmed = save_sql.confirmed_so_far(session.connection(), inst.id) if evaluation.warnings else {}
    open_warnings = sum(1 for w in evaluation.warnings if f"{w.field}:{w.code}" not in confirmed.get(w.field, set()))
    return open_warnings, len(evaluation.errors)


def schedule_grid(store: Store, number: str, today: dt.date | None = None, with_warnings: bool = True) -> ScheduleGrid:
    """One subject's schedule of events: every visit × its forms, windows, and the subject-level logs.

    `with_warnings` evaluates each existing instance with the rules engine (against the subject's
    current data) to count open warnings and errors; a few milliseconds per instance.
    """
    today = today or dt.date.today()
    study: StudyDefinition = store.study
    store._require()
    allocation = store.randomization.allocation(number)
    allocated = allocation is not None and not allocation.voided
    with store.unit_of_work() as session:
        subject = repository.subject_by_ref(session, number)
        insts = _instances(session, [subject.id], None).get(subject.id, [])
        status = _status(store, session, subject, insts, today, allocated)
        anchors = _anchors(insts)
        clock = _clock(today)
        data = None
        if with_warnings and insts:
            grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for inst in insts:
                grouped.setdefault((inst.visit, inst.form), []).append(inst.values)
            data = SubjectData.of(grouped)
        issues: dict[str, tuple[int, int]] = {}
        if data is not None:
            for inst in insts:
                issues[inst.id] = _issues(store, session, inst, data, clock)

        def cell(form: str, found: Sequence[_Inst]) -> FormCell:
            warnings = sum(issues.get(i.id, (0, 0))[0] for i in found)
            errors = sum(issues.get(i.id, (0, 0))[1] for i in found)
            return FormCell(form, _aggregate(i.status for i in found), tuple(i.id for i in found), warnings, errors)

        plan = _plan(study)
        due = _due(plan, insts, status, anchors, today, allocated)
        done = _done_visits(plan, insts, allocated)
        columns: list[str] = []
        rows: list[VisitRow] = []
        for visit in study.visit_ids():
            if visit == SUBJECT_VISIT:
                continue
            forms = study.forms_at(visit)
            if visit != UNSCHEDULED_VISIT:
                columns += [f for f in forms if f not in columns]
            here = [i for i in insts if i.visit == visit]
            window = visit_window(study.visit(visit), anchors)
            date = _visit_date(here)
            rows.append(
                VisitRow(
                    visit,
                    tuple(cell(f, [i for i in here if i.form == f]) for f in forms),
                    window,
                    date,
                    window.status(date) if window and date else None,
                    visit in done,
                    visit in due.overdue_visits,
                )
            )
        logs = []
        for form in study.forms_at(SUBJECT_VISIT):
            found = [i for i in insts if i.visit == SUBJECT_VISIT and i.form == form]
            summary = _LOG_SUMMARY.get(form)
            entries = tuple(
                LogInstance(i.id, _aggregate([i.status]), str(i.values.get(summary, "")) if summary else "")
                for i in found
            )
            logs.append(LogEntry(form, study.forms[form].repeating, _aggregate(i.status for i in found), entries))
        return ScheduleGrid(
            number,
            status,
            anchors.get("D0"),
            tuple(columns),
            tuple(rows),
            tuple(logs),
            due.next_visit,
            bool(due.overdue_visits),
            data is not None or not insts,
            due.overdue_visits,
            allocated and bool(allocation and allocation.unblinded),
        )
