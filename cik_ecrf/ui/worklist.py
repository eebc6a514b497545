"""The monitor's worklist: every query of the site in one table, filtered by status, age, subject and
form; a double-click opens the form at the field (with the query's thread).

The site's queries are read once on the worker (one indexed query, a few ms for 5,000) and put in
a `QueryTableModel`; the filters then only choose rows from that list on the UI thread, so typing a
subject number never waits on the database. "Refresh" reads again (after a sync, or someone's move).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from ..core.queries import ACTIVE_STATUSES, MONITORS, QUERY_STATUSES
from ..store.monitoring import QueryRow
from .monitoring_texts import mtext
from .query_lists import QueryTableModel, query_table
from .query_thread import QueryThreadDialog
from .resources import icon

ACTIVE = "active"
READ_AHEAD_MS = 1500


class WorklistPage(QWidget):
    sig_query_opened = Signal(object)
    """The double-clicked (or Enter) `QueryRow`."""

    sig_loaded = Signal(int)
    """How many queries the site has, once the table is filled."""

    def __init__(self, store: Any, worker: Any, language: str = "en", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("worklist")
        self.store, self.worker, self.language = store, worker, language
        self.all: list[QueryRow] = []
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.status = QComboBox()
        self.status.setObjectName("worklistStatus")
        self.status.setAccessibleName(mtext("col_status", language))
        self.status.addItem(mtext("active", language), ACTIVE)
        self.status.addItem(mtext("all_statuses", language), None)
        for status in QUERY_STATUSES:
            self.status.addItem(mtext(status, language), status)
        self.older = QSpinBox()
        self.older.setObjectName("worklistOlderThan")
        self.older.setRange(0, 3650)
        self.older.setSpecialValueText(mtext("any_age", language))
        self.older.setSuffix(mtext("days", language))
        self.older.setAccessibleName(mtext("older_than", language))
        self.subject = QLineEdit()
        self.subject.setObjectName("worklistSubject")
        self.subject.setPlaceholderText(mtext("subject_filter", language))
        self.subject.setClearButtonEnabled(True)
        self.form = QComboBox()
        self.form.setObjectName("worklistForm")
        self.form.setAccessibleName(mtext("col_form", language))
        self.form.addItem(mtext("all_forms", language), None)
        for form_id, spec in store.study.forms.items():
            self.form.addItem(spec.definition.title.get(language), form_id)
        self.refresh_button = QPushButton(mtext("refresh", language))
        self.refresh_button.setObjectName("worklistRefresh")
        self.refresh_button.clicked.connect(self.refresh)
        bar.addWidget(self.status)
        bar.addWidget(QLabel(mtext("older_than", language)))
        bar.addWidget(self.older)
        bar.addWidget(self.subject, 1)
        bar.addWidget(self.form)
        bar.addWidget(self.refresh_button)
        layout.addLayout(bar)
        self.model = QueryTableModel(store.study, language, self)
        self.table = query_table(self.model, "worklistTable")
        self.table.doubleClicked.connect(lambda index: self.sig_query_opened.emit(self.model.rows[index.row()]))
        for key in ("Return", "Enter"):
            shortcut = QShortcut(QKeySequence(key), self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self._open_current)
        layout.addWidget(self.table, 1)
        self.notice = QLabel("")
        self.notice.setObjectName("worklistNotice")
        layout.addWidget(self.notice)
        self.status.currentIndexChanged.connect(self.apply_filter)
        self.older.valueChanged.connect(self.apply_filter)
        self.subject.textChanged.connect(self.apply_filter)
        self.form.currentIndexChanged.connect(self.apply_filter)

    def _open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.sig_query_opened.emit(self.model.rows[index.row()])

    def refresh(self) -> None:
        """Read the site's queries on the worker; the table fills when they come back."""
        store = self.store
        self.notice.setText(mtext("loading", self.language))
        self.worker.submit(lambda: store.monitoring.queries(), self.show_rows, self.notice.setText)

    def show_rows(self, rows: list[QueryRow]) -> None:
        if not isValid(self):
            return  # the page went (a change of language) before the rows came
        self.all = rows
        self.apply_filter()
        self.sig_loaded.emit(len(rows))

    def filtered(self) -> list[QueryRow]:
        """The queries the filters let through, oldest first (as the store gives them)."""
        status = self.status.currentData()
        wanted = ACTIVE_STATUSES if status == ACTIVE else None if status is None else {status}
        older, needle, form = self.older.value(), self.subject.text().strip().casefold(), self.form.currentData()
        return [
            q
            for q in self.all
            if (wanted is None or q.status in wanted)
            and (not older or q.age_days > older)
            and (not needle or needle in q.subject.casefold())
            and (form is None or q.form_id == form)
        ]

    def apply_filter(self) -> None:
        rows = self.filtered()
        self.model.set_rows(rows)
        self.notice.setText(mtext("shown", self.language).format(shown=len(rows), total=len(self.all)))


class WorklistHook:
    """The main window's "Queries" action and page, and opening a query's form at its field."""

    def __init__(self, window: Any, toolbar: QToolBar, after: QAction) -> None:
        self.window = window
        self.page: WorklistPage | None = None
        self.thread_dialog: QueryThreadDialog | None = None  # a visit query's, opened over the schedule
        self.cache: list[QueryRow] | None = None  # the site's queries as last read (None: not asked yet)
        QTimer.singleShot(READ_AHEAD_MS, self.read_ahead)  # after the first screen's own reads
        self.action = QAction(icon("conflicts"), mtext("queries", window.language), window)
        self.action.setObjectName("showWorklist")
        self.action.setToolTip(mtext("queries_tip", window.language))
        self.action.triggered.connect(self.show)
        actions = toolbar.actions()
        index = actions.index(after) if after in actions else len(actions) - 1
        toolbar.insertAction(actions[index + 1] if index + 1 < len(actions) else None, self.action)

    def show(self) -> WorklistPage:
        window = self.window
        if self.page is None or self.page.language != window.language:
            old, self.page = self.page, WorklistPage(window.store, window.worker, window.language)
            self.page.sig_query_opened.connect(self.open_query)
            self.page.sig_loaded.connect(lambda _n, page=self.page: setattr(self, "cache", page.all))
            window.stack.addWidget(self.page)
            if old is not None:
                window.stack.removeWidget(old)
                old.deleteLater()
        self.page.store = window.store
        if not self.page.all and self.cache:
            self.page.show_rows(self.cache)  # read ahead after sign-in: shown now, read afresh behind them
        self.page.refresh()  # the read starts first and runs while the page is laid out and painted
        window.stack.setCurrentWidget(self.page)  # a page shown before keeps its rows until the new ones come
        return self.page

    def read_ahead(self) -> None:
        """For a monitor or data manager, once the window is up: the site's queries read on the worker,
        so the first open of the worklist shows them at once (5,000 take a noticeable read)."""
        if not isValid(self.window):
            return  # closed before the timer fired
        store = self.window.store
        if store.actor.role in MONITORS and self.cache is None:
            self.cache = []
            self.window.worker.submit(
                lambda: store.monitoring.queries(), lambda rows: setattr(self, "cache", rows), lambda _m: None
            )

    def open_query(self, query: QueryRow) -> Any:
        """The subject's schedule behind (Back returns to it), then the form at the query's field."""
        window = self.window
        window.open_subject(query.subject)
        if query.form_id is None:  # a visit query: its thread over the subject's schedule
            view = window.subject_view
            dialog = QueryThreadDialog(
                lambda: window.store,
                window.worker,
                [query],
                window.language,
                lambda q: view.monitoring.model._name("visit", q.visit_id),
                None,
                view,
            )
            dialog.sig_changed.connect(lambda _id: view.refresh() if isValid(view) else None)
            self.thread_dialog = dialog
            dialog.open()
            return dialog
        page = window.open_form(query.subject, query.visit_id, query.form_id, query.instance_id)
        page.monitoring.go_to(query.field_id, query.id)
        return page

    def set_language(self, language: str) -> None:
        self.action.setText(mtext("queries", language))
        self.action.setToolTip(mtext("queries_tip", language))
        if self.page is not None and self.window.stack.currentWidget() is self.page:
            self.show()

    def after_sync(self) -> None:
        """A sync brought changes: a worklist on screen reads its queries again (new, answered or closed
        elsewhere); one not on screen reads them when it is next shown, so the read-ahead is dropped."""
        if self.showing() and self.page is not None:
            self.page.refresh()
        else:
            self.cache = None

    def showing(self) -> bool:
        return self.page is not None and self.window.stack.currentWidget() is self.page
