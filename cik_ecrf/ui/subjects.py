"""The subject list: every subject with its status, D0, next visit due; overdue visits highlighted.

"Add subject…" (Ctrl+N) asks for a new or a paper screening number and opens the new subject.

Rows are read by `store.overview.subject_rows` on the background worker; searching and filtering
only hide rows already loaded, so typing in the search box never touches the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QT_TRANSLATE_NOOP, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..store.api import Store
from ..store.overview import SUBJECT_STATUSES, SubjectRow, subject_rows
from .add_subject import ADDING_ROLES, AddSubjectDialog
from .query_lists import show_query_counts
from .resources import icon
from .texts import translator
from .worker import StoreWorker

OVERDUE_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role holding True on every cell of an overdue subject's row."""

STATUS_ROLE = Qt.ItemDataRole.UserRole + 2
"""Item data role holding the subject's status code ("screening", "in follow-up"...)."""

OVERDUE_BACKGROUND = QColor("#f8d7da")
OVERDUE_FOREGROUND = QColor("#842029")

CONTEXT = "SubjectList"
TEXTS = {
    "search": QT_TRANSLATE_NOOP("SubjectList", "Search subject number…"),
    "all": QT_TRANSLATE_NOOP("SubjectList", "All statuses"),
    "number": QT_TRANSLATE_NOOP("SubjectList", "Subject"),
    "status": QT_TRANSLATE_NOOP("SubjectList", "Status"),
    "d0": QT_TRANSLATE_NOOP("SubjectList", "D0 (infusion)"),
    "next": QT_TRANSLATE_NOOP("SubjectList", "Next visit"),
    "due": QT_TRANSLATE_NOOP("SubjectList", "Due date"),
    "overdue": QT_TRANSLATE_NOOP("SubjectList", "overdue"),
    "overdue_n": QT_TRANSLATE_NOOP("SubjectList", "{n} visits overdue"),
    "on_time": QT_TRANSLATE_NOOP("SubjectList", "No visit overdue"),
    "add": QT_TRANSLATE_NOOP("SubjectList", "Add subject…"),
    "add_tip": QT_TRANSLATE_NOOP("SubjectList", "Add a subject (Ctrl+N)"),
    "window": QT_TRANSLATE_NOOP("SubjectList", "Window {earliest} – {latest}"),
    "loading": QT_TRANSLATE_NOOP("SubjectList", "Loading…"),
    "count": QT_TRANSLATE_NOOP("SubjectList", "{shown} of {total} subjects"),
    "screening": QT_TRANSLATE_NOOP("SubjectList", "Screening"),
    "eligible": QT_TRANSLATE_NOOP("SubjectList", "Eligible"),
    "randomized": QT_TRANSLATE_NOOP("SubjectList", "Randomized"),
    "in follow-up": QT_TRANSLATE_NOOP("SubjectList", "In follow-up"),
    "ended": QT_TRANSLATE_NOOP("SubjectList", "Ended"),
    "unblinded": QT_TRANSLATE_NOOP("SubjectList", "{status} · unblinded"),
    "unblinded_tip": QT_TRANSLATE_NOOP(
        "SubjectList",
        "This subject was unblinded on the server (who and why are recorded there); this laptop never shows the arm",
    ),
}
COLUMNS = ("number", "status", "d0", "next", "due")


_t = translator(CONTEXT, TEXTS)


class SubjectList(QWidget):
    sig_subject_opened = Signal(str)
    """A subject number, on a double-click or Enter on its row."""

    sig_loaded = Signal(int)
    """The number of subjects after a `refresh()` has filled the table."""

    sig_refused = Signal(str)
    """The store's refusal when the list could not be read (e.g. the password must be changed first)."""

    def __init__(
        self,
        store: Store,
        worker: StoreWorker,
        language: str = "en",
        today: Callable[[], dt.date] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("subjectList")
        self.store, self.worker, self.language = store, worker, language
        self.today = today or dt.date.today
        self.rows: list[SubjectRow] = []
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("subjectSearch")
        self.search.setPlaceholderText(_t("search", language))
        self.search.setAccessibleName(_t("search", language))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("subjectStatusFilter")
        self.status_filter.setAccessibleName(_t("status", language))
        self.status_filter.addItem(_t("all", language), None)
        for status in SUBJECT_STATUSES:
            self.status_filter.addItem(_t(status, language), status)
        self.status_filter.currentIndexChanged.connect(self.apply_filter)
        self.add_button = QPushButton(icon("add-subject"), _t("add", language))
        self.add_button.setObjectName("addSubject")
        self.add_button.setToolTip(_t("add_tip", language))
        self.add_button.clicked.connect(self.add_subject)
        self.add_shortcut = QShortcut(QKeySequence.StandardKey.New, self)
        self.add_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.add_shortcut.activated.connect(self.add_subject)
        self.add_dialog: AddSubjectDialog | None = None
        bar.addWidget(self.add_button)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.status_filter)
        layout.addLayout(bar)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("subjectTable")
        self.table.setHorizontalHeaderLabels([_t(c, language) for c in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(lambda row, _column: self._open(row))
        self.table.installEventFilter(self)
        layout.addWidget(self.table, 1)
        self.notice = QLabel("")
        self.notice.setObjectName("subjectListNotice")
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)
        self.search.returnPressed.connect(self._open_first_shown)
        self.update_actions()

    def update_actions(self) -> None:
        allowed = self.store.actor.role in ADDING_ROLES
        self.add_button.setEnabled(allowed)
        self.add_shortcut.setEnabled(allowed)

    # ------------------------------------------------------------------ adding

    def add_subject(self) -> AddSubjectDialog | None:
        """Ask for the number (window-modal); the new subject opens once the store has it."""
        if self.store.actor.role not in ADDING_ROLES:
            return None
        if self.add_dialog is not None and not self.add_dialog.busy:
            self.add_dialog.deleteLater()  # kept until now: a slow add still reports to it
        dialog = AddSubjectDialog(self.store, self.worker, self.language, self)
        dialog.sig_added.connect(self._added)
        self.add_dialog = dialog
        dialog.open()
        dialog.add_button.setFocus()
        return dialog

    def _added(self, number: str) -> None:
        self.refresh()
        self.sig_subject_opened.emit(number)

    # ------------------------------------------------------------------ loading

    def refresh(self) -> None:
        """Reread the list on the worker; the table is filled when the rows come back."""
        store, today = self.store, self.today()
        self.notice.setText(_t("loading", self.language))
        self.worker.submit(lambda: subject_rows(store, today), self._loaded, self._refused)
        self.worker.submit(lambda: store.monitoring.query_counts(), lambda counts: show_query_counts(self, counts))

    def _refused(self, message: str) -> None:
        self.notice.setText(message)
        self.sig_refused.emit(message)

    def _loaded(self, rows: list[SubjectRow]) -> None:
        self.rows = rows
        table = self.table
        table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, text in enumerate(self._texts(row)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row.number)
                item.setData(STATUS_ROLE, row.status)
                item.setData(OVERDUE_ROLE, row.overdue)
                if COLUMNS[column] == "next" and row.next_visit:
                    if row.overdue:  # a tick here would read as "done"; on time needs no mark
                        item.setIcon(icon("overdue"))
                    item.setToolTip(
                        _t("overdue_n", self.language).format(n=len(row.overdue_visits))
                        if row.overdue
                        else _t("on_time", self.language)
                    )
                if row.overdue:
                    item.setBackground(QBrush(OVERDUE_BACKGROUND))
                    item.setForeground(QBrush(OVERDUE_FOREGROUND))
                    if COLUMNS[column] in ("next", "due"):
                        font = QFont(item.font())
                        font.setBold(True)
                        item.setFont(font)
                if COLUMNS[column] == "due" and row.next_window is not None:
                    item.setToolTip(
                        _t("window", self.language).format(
                            earliest=row.next_window.earliest, latest=row.next_window.latest
                        )
                    )
                if COLUMNS[column] == "status" and row.unblinded:
                    item.setToolTip(_t("unblinded_tip", self.language))
                table.setItem(index, column, item)
        self.apply_filter()
        self.sig_loaded.emit(len(rows))

    def _texts(self, row: SubjectRow) -> list[str]:
        next_visit = ""
        if row.next_visit:
            try:
                next_visit = self.store.study.visit(row.next_visit).label.get(self.language)
            except KeyError:
                next_visit = row.next_visit
        due = row.due.isoformat() if row.due else ""
        if row.overdue:
            count = len(row.overdue_visits)
            flag = _t("overdue", self.language) if count <= 1 else _t("overdue_n", self.language).format(n=count)
            due = f"{due}  {flag}".strip()
        status = _t(row.status, self.language)
        if row.unblinded:  # the mark only: a laptop never knows the arm
            status = _t("unblinded", self.language).format(status=status)
        return [row.number, status, row.d0.isoformat() if row.d0 else "", next_visit, due]

    # ------------------------------------------------------------------ filtering

    def apply_filter(self) -> None:
        needle = self.search.text().strip().casefold()
        wanted = self.status_filter.currentData()
        shown = 0
        for index, row in enumerate(self.rows):
            visible = needle in row.number.casefold() and (wanted is None or row.status == wanted)
            self.table.setRowHidden(index, not visible)
            shown += visible
        self.notice.setText(_t("count", self.language).format(shown=shown, total=len(self.rows)))

    def visible_numbers(self) -> list[str]:
        return [row.number for index, row in enumerate(self.rows) if not self.table.isRowHidden(index)]

    # ------------------------------------------------------------------ opening

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.rows) and not self.table.isRowHidden(row):
            self.sig_subject_opened.emit(self.rows[row].number)

    def _open_first_shown(self) -> None:
        shown = self.visible_numbers()
        if len(shown) == 1:
            self.sig_subject_opened.emit(shown[0])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter on the table opens the current subject."""
        if (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self._open(self.table.currentRow())
            return True
        return super().eventFilter(watched, event)
