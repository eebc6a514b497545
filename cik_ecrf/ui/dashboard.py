"""The study dashboard for the investigator, the monitor and the data manager.

The numbers come from `reporting.dashboard` (Qt-free, tested without a window), computed on the
store worker each time the page is shown; this page only lays them out as tiles and draws the charts
(`charts.py`). Queries and source data verification do not exist in this version: their tile says
so instead of showing a zero that would look like "none open".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ..reporting.dashboard import STATUS_COLOURS, Dashboard, dashboard
from ..store.api import Store
from .charts import Bar, BarChart, LineChart, Series
from .resources import icon
from .texts import translator
from .worker import StoreWorker

CONTEXT = "Dashboard"
TEXTS = {
    "title": QT_TRANSLATE_NOOP("Dashboard", "Study dashboard"),
    "subtitle": QT_TRANSLATE_NOOP("Dashboard", "{study} · site {site} · as of {today} · this laptop's data"),
    "refresh": QT_TRANSLATE_NOOP("Dashboard", "Refresh"),
    "loading": QT_TRANSLATE_NOOP("Dashboard", "Counting…"),
    "enrolled": QT_TRANSLATE_NOOP("Dashboard", "Enrolled"),
    "of_target": QT_TRANSLATE_NOOP("Dashboard", "{n} of {target} ({percent:.1f} %)"),
    "screened": QT_TRANSLATE_NOOP("Dashboard", "Screened"),
    "failures": QT_TRANSLATE_NOOP("Dashboard", "Screen failures"),
    "due": QT_TRANSLATE_NOOP("Dashboard", "Visits due (7 days)"),
    "overdue": QT_TRANSLATE_NOOP("Dashboard", "Visits overdue"),
    "enrolment": QT_TRANSLATE_NOOP("Dashboard", "Enrolment against the target of {target}"),
    "enrolment_note": QT_TRANSLATE_NOOP(
        "Dashboard",
        "Cumulative by month. Screened: consent date recorded. Enrolled: randomized, or infused where no "
        "randomization record is on this laptop.",
    ),
    "series_screened": QT_TRANSLATE_NOOP("Dashboard", "Screened"),
    "series_enrolled": QT_TRANSLATE_NOOP("Dashboard", "Enrolled"),
    "no_enrolment": QT_TRANSLATE_NOOP("Dashboard", "No subject has consented yet."),
    "by_criterion": QT_TRANSLATE_NOOP("Dashboard", "Screen failures by criterion"),
    "failures_note": QT_TRANSLATE_NOOP(
        "Dashboard", "{n} subjects not eligible; a subject counts once under each criterion not met or present."
    ),
    "no_failures": QT_TRANSLATE_NOOP("Dashboard", "No screen failure."),
    "visits": QT_TRANSLATE_NOOP("Dashboard", "Visits due and overdue"),
    "visits_note": QT_TRANSLATE_NOOP(
        "Dashboard", "{subjects} subjects have an overdue visit. Due: the window is open or opens within 7 days."
    ),
    "bar_due": QT_TRANSLATE_NOOP("Dashboard", "{visit} — due"),
    "bar_overdue": QT_TRANSLATE_NOOP("Dashboard", "{visit} — overdue"),
    "no_visits": QT_TRANSLATE_NOOP("Dashboard", "Nothing due or overdue."),
    "forms": QT_TRANSLATE_NOOP("Dashboard", "Forms by status"),
    "forms_note": QT_TRANSLATE_NOOP("Dashboard", "{total} forms entered."),
    "draft": QT_TRANSLATE_NOOP("Dashboard", "Draft"),
    "complete": QT_TRANSLATE_NOOP("Dashboard", "Complete"),
    "signed": QT_TRANSLATE_NOOP("Dashboard", "Signed"),
    "locked": QT_TRANSLATE_NOOP("Dashboard", "Locked"),
    "missing": QT_TRANSLATE_NOOP("Dashboard", "Not started, visit overdue"),
    "subjects": QT_TRANSLATE_NOOP("Dashboard", "Subjects by status"),
    "screening": QT_TRANSLATE_NOOP("Dashboard", "Screening"),
    "eligible": QT_TRANSLATE_NOOP("Dashboard", "Eligible"),
    "randomized": QT_TRANSLATE_NOOP("Dashboard", "Randomized"),
    "in follow-up": QT_TRANSLATE_NOOP("Dashboard", "In follow-up"),
    "ended": QT_TRANSLATE_NOOP("Dashboard", "Ended"),
    "not_yet": QT_TRANSLATE_NOOP("Dashboard", "Queries and source data verification"),
    "not_yet_text": QT_TRANSLATE_NOOP(
        "Dashboard",
        "Not available in this version: there is no query or SDV workflow yet, so there is nothing to count. "
        "Open queries by age and SDV progress will appear here once they exist.",
    ),
}
_t = translator(CONTEXT, TEXTS)


def _tile(title: str, name: str) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName(name)
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    frame.setStyleSheet(f"QFrame#{name} {{ background: white; border: 1px solid #dee2e6; border-radius: 6px; }}")
    column = QVBoxLayout(frame)
    heading = QLabel(title)
    heading.setObjectName(f"{name}Title")
    heading.setStyleSheet("font-weight: 600; font-size: 11pt; border: none;")
    column.addWidget(heading)
    return frame, column


def _note(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #6c757d; border: none;")
    return label


class DashboardPage(QWidget):
    sig_loaded = Signal(object)
    """The `Dashboard` record once the page shows it."""

    def __init__(
        self,
        store: Store,
        worker: StoreWorker,
        language: str = "en",
        today: Callable[[], dt.date] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("dashboardPage")
        self.store, self.worker, self.language = store, worker, language
        self.today = today or dt.date.today
        self.data: Dashboard | None = None
        t = language
        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        title = QLabel(_t("title", t))
        title.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("dashboardSubtitle")
        self.subtitle.setStyleSheet("color: #495057;")
        refresh = QPushButton(icon("sync"), _t("refresh", t))
        refresh.setObjectName("dashboardRefresh")
        refresh.clicked.connect(self.refresh)
        head.addWidget(title)
        head.addSpacing(12)
        head.addWidget(self.subtitle, 1)
        head.addWidget(refresh)
        outer.addLayout(head)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        body.setObjectName("dashboardBody")
        body.setStyleSheet("QWidget#dashboardBody { background: #f1f3f5; }")
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        grid = QGridLayout(body)
        grid.setSpacing(10)
        # the figures a monitor reads first
        self.kpi: dict[str, QLabel] = {}
        kpis = QHBoxLayout()
        for key in ("enrolled", "screened", "failures", "due", "overdue"):
            frame, column = _tile(_t(key, t), f"kpi_{key.replace(' ', '_')}")
            value = QLabel("—")
            value.setObjectName(f"kpiValue_{key}")
            value.setStyleSheet("font-size: 20pt; font-weight: 600; border: none;")
            column.addWidget(value)
            if key == "enrolled":
                self.progress = QProgressBar()
                self.progress.setObjectName("enrolmentProgress")
                self.progress.setTextVisible(False)
                self.progress.setFixedHeight(8)
                column.addWidget(self.progress)
            self.kpi[key] = value
            kpis.addWidget(frame, 1)
        grid.addLayout(kpis, 0, 0, 1, 2)
        frame, column = _tile("", "tileEnrolment")
        self.enrolment_title = frame.findChild(QLabel, "tileEnrolmentTitle")
        self.enrolment = LineChart()
        self.enrolment.setObjectName("enrolmentChart")
        column.addWidget(self.enrolment, 1)
        column.addWidget(_note(_t("enrolment_note", t)))
        grid.addWidget(frame, 1, 0)
        frame, column = _tile(_t("by_criterion", t), "tileFailures")
        self.failures = BarChart()
        self.failures.setObjectName("failuresChart")
        self.failures_note = _note()
        column.addWidget(self.failures)
        column.addWidget(self.failures_note)
        column.addStretch(1)
        grid.addWidget(frame, 1, 1)
        frame, column = _tile(_t("visits", t), "tileVisits")
        self.visits = BarChart()
        self.visits.setObjectName("visitsChart")
        self.visits_note = _note()
        column.addWidget(self.visits)
        column.addWidget(self.visits_note)
        column.addStretch(1)
        grid.addWidget(frame, 2, 0)
        frame, column = _tile(_t("forms", t), "tileForms")
        self.forms = BarChart()
        self.forms.setObjectName("formsChart")
        self.forms_note = _note()
        column.addWidget(self.forms)
        column.addWidget(self.forms_note)
        subjects_title = QLabel(_t("subjects", t))
        subjects_title.setStyleSheet("font-weight: 600; font-size: 11pt; border: none; margin-top: 6px;")
        column.addWidget(subjects_title)
        self.subjects = BarChart()
        self.subjects.setObjectName("subjectsChart")
        column.addWidget(self.subjects)
        column.addStretch(1)
        grid.addWidget(frame, 2, 1)
        frame, column = _tile(_t("not_yet", t), "tileNotYet")
        self.not_yet = _note(_t("not_yet_text", t))
        self.not_yet.setObjectName("notYetText")
        column.addWidget(self.not_yet)
        grid.addWidget(frame, 3, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(1, 1)

    # ------------------------------------------------------------------ loading

    def refresh(self) -> None:
        """Count again on the worker (the UI thread only lays the result out)."""
        store, today = self.store, self.today()
        self.subtitle.setText(_t("loading", self.language))
        self.worker.submit(lambda: dashboard(store, today), self._loaded, self._refused)

    def _refused(self, message: str) -> None:
        self.subtitle.setText(message)

    def _visit_label(self, visit: str) -> str:
        try:
            return self.store.study.visit(visit).label.get(self.language)
        except KeyError:
            return visit

    def _loaded(self, data: Dashboard) -> None:
        self.data = data
        t = self.language
        self.subtitle.setText(_t("subtitle", t).format(study=data.study, site=data.site, today=data.today.isoformat()))
        enrolment = data.enrolment
        self.kpi["enrolled"].setText(
            _t("of_target", t).format(
                n=enrolment.enrolled, target=enrolment.target, percent=enrolment.percent_of_target
            )
        )
        self.progress.setRange(0, enrolment.target)
        self.progress.setValue(min(enrolment.enrolled, enrolment.target))
        self.kpi["screened"].setText(str(enrolment.screened))
        self.kpi["failures"].setText(str(data.screen_failures.subjects))
        self.kpi["due"].setText(str(data.visits.due))
        self.kpi["overdue"].setText(str(data.visits.overdue))
        self.kpi["overdue"].setStyleSheet(
            "font-size: 20pt; font-weight: 600; border: none;" + (" color: #b02a37;" if data.visits.overdue else "")
        )
        if self.enrolment_title is not None:
            self.enrolment_title.setText(_t("enrolment", t).format(target=enrolment.target))
        self.enrolment.set_data(
            [p.month.strftime("%Y-%m") for p in enrolment.by_month],
            [
                Series(_t("series_screened", t), "#adb5bd", tuple(p.screened for p in enrolment.by_month)),
                Series(_t("series_enrolled", t), "#0b5ed7", tuple(p.enrolled for p in enrolment.by_month)),
            ],
            _t("no_enrolment", t),
        )
        failures = data.screen_failures
        self.failures.set_bars(
            [
                Bar(f"{c.criterion} {c.label(t)}", c.subjects, "#b02a37" if c.inclusion else "#fd7e14", c.label(t))
                for c in failures.by_criterion
            ],
            _t("no_failures", t),
        )
        self.failures_note.setText(_t("failures_note", t).format(n=failures.subjects) if failures.subjects else "")
        bars = []
        for count in data.visits.by_visit:
            label = self._visit_label(count.visit)
            if count.overdue:
                bars.append(Bar(_t("bar_overdue", t).format(visit=label), count.overdue, "#b02a37"))
            if count.due:
                bars.append(Bar(_t("bar_due", t).format(visit=label), count.due, "#0b5ed7"))
        self.visits.set_bars(bars, _t("no_visits", t))
        self.visits_note.setText(_t("visits_note", t).format(subjects=data.visits.subjects_overdue))
        forms = data.forms
        self.forms.set_bars(
            [Bar(_t(s, t), n, STATUS_COLOURS[s]) for s, n in forms.counts]
            + [Bar(_t("missing", t), forms.missing, STATUS_COLOURS["missing"])]
        )
        self.forms_note.setText(_t("forms_note", t).format(total=forms.total))
        self.subjects.set_bars([Bar(_t(s, t), n, STATUS_COLOURS[s]) for s, n in data.subjects_by_status])
        self.sig_loaded.emit(data)

    def keyPressEvent(self, event: object) -> None:
        from PySide6.QtGui import QKeyEvent

        if isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_F5:
            self.refresh()
            return
        super().keyPressEvent(event)  # type: ignore[arg-type]
