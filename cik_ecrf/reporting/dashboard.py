"""The study dashboard's numbers, read from a store in one call: enrolment against the target, screen
failures by criterion, visits due and overdue, forms by status.

Qt-free on purpose: the desktop client computes this on its background worker and draws it, and
`cik-ecrf report` prints the same records to a PDF, so the two can never disagree.

Definitions (each tile says the same in words):
  screened   a consent date (consent.ICFDAT) is recorded; counted in the month of that date
  enrolled   randomized (randomization.RANDNO; month of RANDDTC) or, without a randomization record
             here, infused (month of D0)
  screen failure  the stored screening forms evaluate to ELIGIBLE = N; each criterion not met
             (inclusion) or present (exclusion) counts once for that subject
  due        the subject's next visit has a window that has opened or opens within `DUE_AHEAD_DAYS`
  overdue    every visit not done whose window has closed (`store.overview`)
Queries and source data verification are not part of this version: the dashboard says so rather than
showing a number.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from ..definitions.spec import SUBJECT_VISIT
from ..rules import Clock
from ..store import repository
from ..store.api import Store
from ..store.overview import FORM_STATUSES, SUBJECT_STATUSES, SubjectFacts, SubjectRow, subject_overview

TARGET = 213  # planned enrolment of NCT06389305
DUE_AHEAD_DAYS = 7
NOT_YET = ("queries", "sdv")  # workflows this version does not have; shown as such, never as zero


#: one colour per form and subject status, the same on screen and on paper
STATUS_COLOURS = {
    "draft": "#e0a800",
    "complete": "#198754",
    "signed": "#0b5ed7",
    "locked": "#6c757d",
    "missing": "#b02a37",
    "screening": "#e0a800",
    "eligible": "#20c997",
    "randomized": "#0dcaf0",
    "in follow-up": "#0b5ed7",
    "ended": "#6c757d",
}


@dataclass(frozen=True)
class MonthPoint:
    month: dt.date  # the first day of the month
    screened: int  # cumulative, to the end of that month
    enrolled: int  # cumulative


@dataclass(frozen=True)
class Enrolment:
    target: int
    registered: int  # every subject in the store
    screened: int
    enrolled: int
    by_month: tuple[MonthPoint, ...]  # from the first consent month to today's month

    @property
    def percent_of_target(self) -> float:
        return 100.0 * self.enrolled / self.target if self.target else 0.0


@dataclass(frozen=True)
class CriterionFailures:
    criterion: str  # INCL01 … EXCL16
    inclusion: bool
    label_en: str
    label_zh: str
    subjects: int

    def label(self, language: str) -> str:
        return self.label_zh if language.startswith("zh") else self.label_en


@dataclass(frozen=True)
class ScreenFailures:
    subjects: int  # subjects whose screening evaluates to not eligible
    by_criterion: tuple[CriterionFailures, ...]  # most frequent first; only criteria that failed someone


@dataclass(frozen=True)
class VisitCount:
    visit: str
    due: int
    overdue: int


@dataclass(frozen=True)
class VisitsDue:
    due: int  # next visits whose window is open or opens within DUE_AHEAD_DAYS
    overdue: int  # visits past their window and not done, over all subjects
    subjects_overdue: int
    by_visit: tuple[VisitCount, ...]  # schedule order; only visits with something due or overdue


@dataclass(frozen=True)
class FormsByStatus:
    counts: tuple[tuple[str, int], ...]  # (draft|complete|signed|locked, form instances)
    missing: int  # forms not started at visits that are overdue

    def count(self, status: str) -> int:
        return dict(self.counts).get(status, 0)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


@dataclass(frozen=True)
class Dashboard:
    study: str
    site: str
    today: dt.date
    subjects_by_status: tuple[tuple[str, int], ...]
    enrolment: Enrolment
    screen_failures: ScreenFailures
    visits: VisitsDue
    forms: FormsByStatus
    not_yet: tuple[str, ...] = NOT_YET


def _date(value: object) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], _month(first)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def _enrolment(rows: list[SubjectRow], facts: dict[str, SubjectFacts], today: dt.date) -> Enrolment:
    screened: list[dt.date] = []
    enrolled: list[dt.date] = []
    for row in rows:
        own = facts.get(row.number)
        if own is None:
            continue
        consent = own.first_date("consent.ICFDAT")
        if consent:
            screened.append(consent)
        randomized = any(own.values.get("randomization.RANDNO", ()))
        rand_day = own.first_date("randomization.RANDDTC")
        if randomized and rand_day:
            enrolled.append(rand_day)
        elif row.d0 is not None:
            enrolled.append(row.d0)
    points: list[MonthPoint] = []
    if screened or enrolled:
        for month in _months(min(screened + enrolled), max(today, *screened, *enrolled)):
            end = (month + dt.timedelta(days=32)).replace(day=1)
            points.append(MonthPoint(month, sum(d < end for d in screened), sum(d < end for d in enrolled)))
    return Enrolment(TARGET, len(rows), len(screened), len(enrolled), tuple(points))


def _screen_failures(store: Store, rows: list[SubjectRow], today: dt.date) -> ScreenFailures:
    """Evaluate eligibility of subjects still at screening that have an eligibility form (few, in a study)."""
    spec = store.study.forms["eligibility"]
    labels = {c.id: c.definition.label for c in spec.criteria}
    clock = Clock(dt.datetime.combine(today, dt.time(23, 59)).astimezone())
    needed = store.rules.forms_read_by("eligibility")
    failures: Counter[str] = Counter()
    failed = 0
    with store.unit_of_work() as session:
        for row in rows:
            if row.status != "screening":
                continue
            subject = repository.subject_by_ref(session, row.number)
            data = repository.subject_data(session, subject, forms=None if needed is None else needed | {"eligibility"})
            own = data.instances("screening", "eligibility")
            if not own:
                continue
            result = store.rules.evaluate("eligibility", "screening", own[0], data, clock).eligibility
            if result is None or result.eligible != "N":
                continue
            failed += 1
            for criterion in result.criteria:
                if criterion.outcome in ("not met", "present"):
                    failures[criterion.id] += 1
    order = [c.id for c in spec.criteria]
    by_criterion = tuple(
        CriterionFailures(c, c.startswith("INCL"), labels[c].en, labels[c].zh, n)
        for c, n in sorted(failures.items(), key=lambda item: (-item[1], order.index(item[0])))
    )
    return ScreenFailures(failed, by_criterion)


def _visits(store: Store, rows: list[SubjectRow], today: dt.date) -> VisitsDue:
    horizon = today + dt.timedelta(days=DUE_AHEAD_DAYS)
    due: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    for row in rows:
        overdue.update(row.overdue_visits)
        window = row.next_window
        if row.next_visit and window and window.earliest <= horizon and row.next_visit not in row.overdue_visits:
            due[row.next_visit] += 1
    order = [v for v in store.study.visit_ids() if v != SUBJECT_VISIT]
    by_visit = tuple(VisitCount(v, due[v], overdue[v]) for v in order if due[v] or overdue[v])
    return VisitsDue(sum(due.values()), sum(overdue.values()), sum(1 for r in rows if r.overdue_visits), by_visit)


def _forms(store: Store, rows: list[SubjectRow], facts: dict[str, SubjectFacts]) -> FormsByStatus:
    counted: Counter[str] = Counter()
    for own in facts.values():
        counted.update(own.statuses)
    missing = 0
    for row in rows:
        own = facts.get(row.number)
        started = own.started if own is not None else frozenset()
        for visit in row.overdue_visits:
            missing += sum(1 for form in store.study.forms_at(visit) if (visit, form) not in started)
    return FormsByStatus(tuple((s, counted.get(s, 0)) for s in FORM_STATUSES[1:]), missing)


def dashboard(store: Store, today: dt.date | None = None) -> Dashboard:
    """Every number of the dashboard (a few read transactions; run it off the UI thread)."""
    today = today or dt.date.today()
    rows, facts = subject_overview(store, today)
    by_status = Counter(r.status for r in rows)
    return Dashboard(
        store.study.study.id,
        store.sync_device()[1],
        today,
        tuple((s, by_status[s]) for s in SUBJECT_STATUSES),
        _enrolment(rows, facts, today),
        _screen_failures(store, rows, today),
        _visits(store, rows, today),
        _forms(store, rows, facts),
    )
