"""One subject's schedule of events: visits × forms with each form's status, windows and the logs.

The grid is read by `store.overview.schedule_grid` on the background worker. The visit column stays
put while the form columns scroll (`frozen.FrozenColumn`); each cell carries its status as an icon
and a word (not started, draft, complete, signed, locked), each visit whether it is done (every form
finished), started or overdue. A double-click on a form cell (or Enter) asks for that form; on a subject-level log it asks for that entry, or for a new
one on the log's own line when the log repeats (adverse events, medications).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..definitions.spec import SUBJECT_VISIT
from ..store.api import Store
from ..store.overview import FormCell, LogEntry, ScheduleGrid, VisitRow, schedule_grid
from ..store.signatures import SIGNER_ROLES
from .frozen import FrozenColumn
from .query_lists import SubjectMonitoring
from .record_actions import RecordActions, RecordScope, SigningSession
from .resources import icon
from .texts import translator
from .worker import StoreWorker

STATUS_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role: the form status code ("not started", "draft", "complete", "signed", "locked")."""

WARNINGS_ROLE = Qt.ItemDataRole.UserRole + 2
"""Item data role: the number of open (unconfirmed) warnings and errors of the cell's form."""

REQUEST_ROLE = Qt.ItemDataRole.UserRole + 3
"""Item data role: (visit, form, instance or None) that a double-click requests."""

STATUS_COLOURS = {
    "not started": "#ffffff",
    "draft": "#fff3cd",
    "complete": "#d1e7dd",
    "signed": "#cfe2ff",
    "locked": "#e2e3e5",
}
WARNING_FOREGROUND = QColor("#8a5a00")
WINDOW_COLOURS = {"early": "#fff3cd", "late": "#f8d7da"}

CONTEXT = "SubjectView"
TEXTS = {
    "not started": QT_TRANSLATE_NOOP("SubjectView", "not started"),
    "draft": QT_TRANSLATE_NOOP("SubjectView", "draft"),
    "complete": QT_TRANSLATE_NOOP("SubjectView", "complete"),
    "signed": QT_TRANSLATE_NOOP("SubjectView", "signed"),
    "locked": QT_TRANSLATE_NOOP("SubjectView", "locked"),
    "early": QT_TRANSLATE_NOOP("SubjectView", "early"),
    "in window": QT_TRANSLATE_NOOP("SubjectView", "in window"),
    "late": QT_TRANSLATE_NOOP("SubjectView", "late"),
    "window": QT_TRANSLATE_NOOP("SubjectView", "Window"),
    "warnings": QT_TRANSLATE_NOOP("SubjectView", "{n} open warning(s) or error(s)"),
    "done_on": QT_TRANSLATE_NOOP("SubjectView", "done {date}"),
    "started_on": QT_TRANSLATE_NOOP("SubjectView", "started {date}"),
    "visit_overdue": QT_TRANSLATE_NOOP("SubjectView", "overdue: not every form is complete"),
    "visit_done": QT_TRANSLATE_NOOP("SubjectView", "Every form of this visit is complete"),
    "visit_started": QT_TRANSLATE_NOOP("SubjectView", "Some forms of this visit are not complete yet"),
    "overdue_more": QT_TRANSLATE_NOOP("SubjectView", "{n} visits overdue: {visits}"),
    "logs": QT_TRANSLATE_NOOP("SubjectView", "Subject-level logs"),
    "new": QT_TRANSLATE_NOOP("SubjectView", "+ new"),
    "entries": QT_TRANSLATE_NOOP("SubjectView", "{n} entries"),
    "entry_one": QT_TRANSLATE_NOOP("SubjectView", "1 entry"),
    "loading": QT_TRANSLATE_NOOP("SubjectView", "Loading…"),
    "header": QT_TRANSLATE_NOOP("SubjectView", "{number} · {status} · D0 {d0}"),
    "next": QT_TRANSLATE_NOOP("SubjectView", "Next visit: {visit} ({date})"),
    "overdue": QT_TRANSLATE_NOOP("SubjectView", "overdue"),
    "screening": QT_TRANSLATE_NOOP("SubjectView", "Screening"),
    "eligible": QT_TRANSLATE_NOOP("SubjectView", "Eligible"),
    "randomized": QT_TRANSLATE_NOOP("SubjectView", "Randomized"),
    "unblinded": QT_TRANSLATE_NOOP("SubjectView", "{status} · unblinded"),
    "in follow-up": QT_TRANSLATE_NOOP("SubjectView", "In follow-up"),
    "ended": QT_TRANSLATE_NOOP("SubjectView", "Ended"),
    "signVisit": QT_TRANSLATE_NOOP("SubjectView", "Sign visit…"),
    "printVisit": QT_TRANSLATE_NOOP("SubjectView", "Print visit…"),
    "signCasebook": QT_TRANSLATE_NOOP("SubjectView", "Sign casebook…"),
    "printCasebook": QT_TRANSLATE_NOOP("SubjectView", "Print casebook…"),
}


_t = translator(CONTEXT, TEXTS)


def status_icon(status: str) -> str:
    """The icon file of a form status ("not started" -> resources/icons/not-started.svg)."""
    return status.replace(" ", "-")


def status_text(status: str, language: str) -> str:
    """A form's status (draft, complete, signed...) as the schedule shows it; the form page says the same."""
    return _t(status, language)


class SubjectView(QWidget):
    sig_form_requested = Signal(str, str, object)
    """(visit, form, instance id or None for a new one) on a double-click or Enter on a cell or log."""

    sig_loaded = Signal(object)
    """The `ScheduleGrid` after a `refresh()` has filled the view."""

    sig_refused = Signal(str)
    """The store's refusal when the subject could not be read."""

    def __init__(
        self,
        store: Store,
        worker: StoreWorker,
        number: str,
        language: str = "en",
        today: Callable[[], dt.date] | None = None,
        parent: QWidget | None = None,
        signing: SigningSession | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("subjectView")
        self.store, self.worker, self.number, self.language = store, worker, number, language
        self.today = today or dt.date.today
        self.grid_data: ScheduleGrid | None = None
        layout = QVBoxLayout(self)
        self.header = QLabel(number)
        self.header.setObjectName("subjectHeader")
        self.header.setStyleSheet("font-size: 15pt; font-weight: 600;")
        layout.addWidget(self.header)
        self.next_label = QLabel("")
        self.next_label.setObjectName("subjectNextVisit")
        layout.addWidget(self.next_label)
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.grid = QTableWidget(0, 0)
        self.grid.setObjectName("scheduleGrid")
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.grid.setIconSize(QSize(16, 16))
        self.grid.cellDoubleClicked.connect(lambda row, column: self._request(self.grid.item(row, column)))
        self.grid.installEventFilter(self)
        self.frozen = FrozenColumn(self.grid)
        splitter.addWidget(self.grid)
        logs = QWidget()
        logs_layout = QVBoxLayout(logs)
        logs_layout.setContentsMargins(0, 0, 0, 0)
        logs_title = QLabel(f"<b>{_t('logs', language)}</b>")
        logs_layout.addWidget(logs_title)
        self.logs = QListWidget()
        self.logs.setObjectName("subjectLogs")
        self.logs.setAccessibleName(_t("logs", language))
        self.logs.itemDoubleClicked.connect(self._request)
        self.logs.installEventFilter(self)
        logs_layout.addWidget(self.logs)
        splitter.addWidget(logs)
        self.monitoring = SubjectMonitoring(self, self.selected_visit, language)  # SDV progress, queries
        splitter.addWidget(self.monitoring)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        self.actions = RecordActions(self, lambda: self.store, worker, signing or SigningSession(), language)
        self.actions.sig_progress.connect(self.notice_text)
        self.actions.sig_signed.connect(lambda _result: self.refresh())
        buttons = QHBoxLayout()
        self.action_buttons: dict[str, QPushButton] = {}
        for name, visit_only, act in (
            ("signVisit", True, self.actions.sign),
            ("printVisit", True, self.actions.print_),
            ("signCasebook", False, self.actions.sign),
            ("printCasebook", False, self.actions.print_),
        ):
            button = QPushButton(_t(name, language))
            button.setObjectName(name)
            button.clicked.connect(
                lambda _checked=False, v=visit_only, a=act: a(
                    RecordScope(self.number, self.selected_visit() if v else None)
                )
            )
            buttons.addWidget(button)
            self.action_buttons[name] = button
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.grid.currentCellChanged.connect(lambda *_: self._enable_actions())
        self.notice = QLabel("")
        self.notice.setObjectName("subjectViewNotice")
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)
        self._enable_actions()
        self.refresh()

    def notice_text(self, text: str) -> None:
        self.notice.setText(text)

    def selected_visit(self) -> str | None:
        """The visit of the grid's current row (a visit is signed or printed from its row)."""
        row = self.grid.currentRow()
        if self.grid_data is None or not 0 <= row < len(self.grid_data.rows):
            return None
        return self.grid_data.rows[row].visit

    def _enable_actions(self) -> None:
        may_sign = self.store.actor.role in SIGNER_ROLES
        has_visit = self.selected_visit() is not None
        self.action_buttons["signVisit"].setEnabled(may_sign and has_visit)
        self.action_buttons["printVisit"].setEnabled(has_visit)
        self.action_buttons["signCasebook"].setEnabled(may_sign)
        self.monitoring.enable()

    # ------------------------------------------------------------------ loading

    def refresh(self) -> None:
        """Statuses first (a few ms on the worker), then again with every form's open warnings counted
        by the rules engine: the schedule shows at once and the warning marks follow."""
        store, number, today = self.store, self.number, self.today()
        self.notice.setText(_t("loading", self.language))
        self.worker.submit(
            lambda: schedule_grid(store, number, today, with_warnings=False), self._loaded, self._refused
        )
        self.worker.submit(lambda: schedule_grid(store, number, today), self._loaded, self._refused)
        self.monitoring.refresh()

    @property
    def fully_loaded(self) -> bool:
        """The grid is shown with its warnings counted (the second of `refresh`'s two reads)."""
        return self.grid_data is not None and self.grid_data.warnings_evaluated

    def _refused(self, message: str) -> None:
        self.notice.setText(message)
        self.sig_refused.emit(message)

    def _loaded(self, grid: ScheduleGrid) -> None:
        self.grid_data = grid
        self.notice.setText("")
        language = self.language
        status = _t(grid.status, language)
        if grid.unblinded:  # the mark only: a laptop never knows the arm
            status = _t("unblinded", language).format(status=status)
        self.header.setText(
            _t("header", language).format(number=grid.number, status=status, d0=grid.d0.isoformat() if grid.d0 else "—")
        )
        self._fill_next(grid)
        self._fill_grid(grid)
        self._fill_logs(grid.logs)
        self._enable_actions()
        self.sig_loaded.emit(grid)

    def _visit_label(self, visit: str) -> str:
        try:
            return self.store.study.visit(visit).label.get(self.language)
        except KeyError:
            return visit

    def _form_label(self, form: str) -> str:
        spec = self.store.study.forms.get(form)
        return spec.definition.title.get(self.language) if spec else form

    def _fill_next(self, grid: ScheduleGrid) -> None:
        if grid.next_visit is None:
            self.next_label.setText("")
            self.next_label.setProperty("overdue", False)
            return
        row = next((r for r in grid.rows if r.visit == grid.next_visit), None)
        date = row.window.target.isoformat() if row and row.window else "—"
        text = _t("next", self.language).format(visit=self._visit_label(grid.next_visit), date=date)
        if grid.next_visit in grid.overdue_visits:
            text += f" <b style='color:#842029'>{_t('overdue', self.language)}</b>"
        others = [v for v in grid.overdue_visits if v != grid.next_visit]
        if others:
            names = ", ".join(self._visit_label(v) for v in others)
            more = _t("overdue_more", self.language).format(n=len(others), visits=names)
            text += f"<br><span style='color:#842029'>{more}</span>"
        self.next_label.setText(text)
        self.next_label.setProperty("overdue", grid.overdue)

    def _fill_grid(self, grid: ScheduleGrid) -> None:
        table = self.grid
        at_row, at_column = table.currentRow(), table.currentColumn()
        table.clear()
        table.setRowCount(len(grid.rows))
        table.setColumnCount(1 + len(grid.forms))
        table.setHorizontalHeaderLabels([_t("window", self.language)] + [self._form_label(f) for f in grid.forms])
        table.setVerticalHeaderLabels([self._visit_label(r.visit) for r in grid.rows])
        for index, row in enumerate(grid.rows):
            table.setItem(index, 0, self._window_item(row))
            for cell in row.cells:
                if cell.form in grid.forms:
                    table.setItem(index, 1 + grid.forms.index(cell.form), self._cell_item(row.visit, cell))
        table.resizeColumnsToContents()
        table.setColumnWidth(0, min(table.columnWidth(0), 330))
        self.frozen.sync()
        if 0 <= at_row < table.rowCount() and 0 <= at_column < table.columnCount():
            table.setCurrentCell(at_row, at_column)  # the second read keeps the nurse's place

    def _window_item(self, row: VisitRow) -> QTableWidgetItem:
        parts = []
        if row.window is not None:
            w = row.window
            parts.append(w.target.isoformat() if w.earliest == w.latest else f"{w.target} ({w.earliest} – {w.latest})")
        if row.date is not None:
            key = "done_on" if row.done else "started_on"
            done = _t(key, self.language).format(date=row.date.isoformat())
            parts.append(f"{done} · {_t(row.window_status, self.language)}" if row.window_status else done)
        if row.overdue:
            parts.append(_t("overdue", self.language))
        item = QTableWidgetItem("  ".join(parts))
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        item.setData(Qt.ItemDataRole.UserRole, row.window_status)
        if row.overdue:
            item.setIcon(icon("overdue"))
            item.setToolTip(_t("visit_overdue", self.language))
            item.setForeground(QBrush(QColor("#842029")))
        elif row.done:
            item.setIcon(icon("visit-done"))
            item.setToolTip(_t("visit_done", self.language))
        elif row.started:
            item.setIcon(icon("visit-started"))
            item.setToolTip(_t("visit_started", self.language))
        if row.window_status in WINDOW_COLOURS:
            item.setBackground(QBrush(QColor(WINDOW_COLOURS[row.window_status])))
        return item

    def _cell_item(self, visit: str, cell: FormCell) -> QTableWidgetItem:
        issues = cell.open_warnings + cell.errors
        text = _t(cell.status, self.language)
        if len(cell.instances) > 1:
            text += f" ×{len(cell.instances)}"
        item = QTableWidgetItem(icon("warning" if issues else status_icon(cell.status)), text)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        item.setBackground(QBrush(QColor(STATUS_COLOURS[cell.status])))
        item.setData(STATUS_ROLE, cell.status)
        item.setData(WARNINGS_ROLE, issues)
        item.setData(REQUEST_ROLE, (visit, cell.form, cell.instance))
        if issues:
            item.setForeground(QBrush(WARNING_FOREGROUND))
            item.setToolTip(_t("warnings", self.language).format(n=issues))
        spoken = f"{text}, {_t('warnings', self.language).format(n=issues)}" if issues else text
        item.setData(
            Qt.ItemDataRole.AccessibleTextRole, f"{self._visit_label(visit)}, {self._form_label(cell.form)}: {spoken}"
        )
        return item

    def _fill_logs(self, logs: tuple[LogEntry, ...]) -> None:
        self.logs.clear()
        for log in logs:
            title = self._form_label(log.form)
            if log.repeating:
                count = (
                    _t("entry_one", self.language)
                    if log.count == 1
                    else _t("entries", self.language).format(n=log.count)
                )
                head = QListWidgetItem(icon(status_icon(log.status)), f"{title}: {count}   {_t('new', self.language)}")
                head.setData(REQUEST_ROLE, (SUBJECT_VISIT, log.form, None))
            else:
                head = QListWidgetItem(icon(status_icon(log.status)), f"{title}: {_t(log.status, self.language)}")
                head.setData(REQUEST_ROLE, (SUBJECT_VISIT, log.form, log.entries[0].instance if log.entries else None))
            head.setData(STATUS_ROLE, log.status)
            head.setData(Qt.ItemDataRole.UserRole, log.form)
            head.setBackground(QBrush(QColor(STATUS_COLOURS[log.status])))
            self.logs.addItem(head)
            if log.repeating:
                for number, entry in enumerate(log.entries, 1):
                    item = QListWidgetItem(
                        icon(status_icon(entry.status)),
                        f"    {number}. {entry.summary or title} — {_t(entry.status, self.language)}",
                    )
                    item.setData(REQUEST_ROLE, (SUBJECT_VISIT, log.form, entry.instance))
                    item.setData(STATUS_ROLE, entry.status)
                    item.setData(Qt.ItemDataRole.UserRole, log.form)
                    item.setBackground(QBrush(QColor(STATUS_COLOURS[entry.status])))
                    self.logs.addItem(item)

    # ------------------------------------------------------------------ requests

    def _request(self, item: QTableWidgetItem | QListWidgetItem | None) -> None:
        request = item.data(REQUEST_ROLE) if item is not None else None
        if request:
            visit, form, instance = request
            self.sig_form_requested.emit(visit, form, instance)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter on a cell or a log line requests it, like a double-click."""
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            if watched is self.grid:
                self._request(self.grid.currentItem())
                return True
            if watched is self.logs:
                self._request(self.logs.currentItem())
                return True
        return super().eventFilter(watched, event)
