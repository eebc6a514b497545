"""Lists of queries: one table model over `QueryRow`s (the worklist and the subject view), the query
counts column of the subject list, and the subject view's panel (SDV progress per visit, the
subject's queries).

The model hands Qt only what a visible row asks for, so 5,000 queries cost one Python list and no
item objects; texts (visit and form titles, statuses) are looked up once per distinct value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from ..core.queries import LOCK_ROLES, SDV_ROLES
from ..store.monitoring import LockInfo, QueryRow, SdvProgress
from .monitoring_actions import ask_unlock_reason
from .monitoring_texts import STATUS_COLOURS, local_time, mtext

COLUMNS = ("subject", "visit", "form", "field", "status", "age", "by", "text", "steps")
QUERY_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role: the row's `QueryRow`."""

Index = QModelIndex | QPersistentModelIndex
_R = Qt.ItemDataRole
_DISPLAY, _TOOLTIP, _BACKGROUND, _FOREGROUND, _ALIGNMENT, _QUERY = (
    int(r.value) if hasattr(r, "value") else int(r)
    for r in (_R.DisplayRole, _R.ToolTipRole, _R.BackgroundRole, _R.ForegroundRole, _R.TextAlignmentRole, QUERY_ROLE)
)
_ROLE_INT = {r: int(r.value) for r in _R}
_STATUS_COLUMN, _TEXT_COLUMN = COLUMNS.index("status"), COLUMNS.index("text")
_RIGHT_COLUMNS = frozenset({COLUMNS.index("age"), COLUMNS.index("steps")})
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)


class QueryTableModel(QAbstractTableModel):
    """Read-only table of queries; `rows` is replaced whole (`set_rows`), never edited in place."""

    def __init__(self, study: Any, language: str = "en", parent: Any = None) -> None:
        super().__init__(parent)
        self.study, self.language = study, language
        self.rows: list[QueryRow] = []
        self._texts: dict[int, tuple[str, ...]] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._brushes = {s: (QBrush(QColor(bg)), QBrush(QColor(fg))) for s, (bg, fg) in STATUS_COLOURS.items()}

    def set_rows(self, rows: Sequence[QueryRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._texts = {}
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return mtext(f"col_{COLUMNS[section]}", self.language)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Roles compared as plain ints and each row's texts made once: a paint asks ~7 roles per cell."""
        role = _ROLE_INT.get(role, role) if not isinstance(role, int) else role
        row, column = index.row(), index.column()
        if role == _DISPLAY or role == _TOOLTIP:
            texts = self._texts.get(row)
            if texts is None:
                query = self.rows[row]
                texts = self._texts[row] = tuple(self._text(query, c) for c in COLUMNS)
            return self.rows[row].text if role == _TOOLTIP and column == _TEXT_COLUMN else texts[column]
        if role == _QUERY:
            return self.rows[row]
        if column == _STATUS_COLUMN and (role == _BACKGROUND or role == _FOREGROUND):
            background, foreground = self._brushes.get(self.rows[row].status, (None, None))
            return background if role == _BACKGROUND else foreground
        if role == _ALIGNMENT and column in _RIGHT_COLUMNS:
            return _RIGHT
        return None

    def _text(self, query: QueryRow, column: str) -> str:
        if column == "subject":
            return query.subject
        if column == "visit":
            return self._name("visit", query.visit_id)
        if column == "form":
            return self._name("form", query.form_id) if query.form_id else "—"
        if column == "field":
            return self._name(f"field:{query.form_id}", query.field_id) if query.field_id else "—"
        if column == "status":
            return mtext(query.status, self.language)
        if column == "age":
            return str(query.age_days)
        if column == "by":
            return query.opened_by
        if column == "text":
            return query.text.replace("\n", " ")
        return str(query.messages)

    def _name(self, kind: str, key: str | None) -> str:
        """A visit's, form's or field's title in the language, looked up once."""
        if key is None:
            return ""
        found = self._names.get((kind, key))
        if found is None:
            found = key
            try:
                if kind == "visit":
                    found = self.study.visit(key).label.get(self.language)
                elif kind == "form":
                    found = self.study.forms[key].definition.title.get(self.language)
                else:
                    form = self.study.forms[kind.split(":", 1)[1]]
                    found = form.fields[key].definition.label.get(self.language)
            except (KeyError, AttributeError):
                pass
            self._names[(kind, key)] = found
        return found


def query_table(model: QueryTableModel, name: str) -> QTableView:
    """A read-only, row-selecting view of `model` with fixed-height rows (no per-row measuring)."""
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(False)
    widths = {"subject": 130, "visit": 110, "form": 220, "field": 160, "status": 170, "age": 80, "by": 90}
    widths |= {"steps": 60}
    for column, key in enumerate(COLUMNS):
        if key in widths:
            view.setColumnWidth(column, widths[key])
    header.setSectionResizeMode(COLUMNS.index("text"), QHeaderView.ResizeMode.Stretch)
    return view


# ---------------------------------------------------------------------------- the subject list's column


def show_query_counts(subject_list: Any, counts: dict[str, dict[str, int]]) -> None:
    """A "Queries" column on the subject list: open and answered per subject (tooltip: every status).
    Added only once the site has queries, so a site without any keeps its list as it was."""
    table, language = subject_list.table, subject_list.language
    if not counts:
        return
    column = table.columnCount() - 1
    header = table.horizontalHeaderItem(column)
    if header is None or header.data(QUERY_ROLE) != "queries":
        column = table.columnCount()
        table.setColumnCount(column + 1)
        header = QTableWidgetItem(mtext("queries", language))
        header.setData(QUERY_ROLE, "queries")
        table.setHorizontalHeaderItem(column, header)
    for index, row in enumerate(subject_list.rows):
        mine = counts.get(row.number, {})
        item = QTableWidgetItem("")
        item.setData(Qt.ItemDataRole.UserRole, row.number)
        if mine:
            item.setText(mtext("counts", language).format(open=mine.get("open", 0), answered=mine.get("answered", 0)))
            detail = ", ".join(f"{n} {mtext(s, language)}" for s, n in sorted(mine.items()))
            item.setToolTip(mtext("counts_tip", language).format(detail=detail))
            if mine.get("open"):
                item.setForeground(QBrush(QColor(STATUS_COLOURS["open"][0])))
        table.setItem(index, column, item)


# ---------------------------------------------------------------------------- the subject view's panel


class SubjectMonitoring(QWidget):
    """SDV progress (the subject, each visit) and the subject's queries; Verify / Lock for a visit."""

    sig_query_opened = Signal(object)
    """A `QueryRow` double-clicked: the window opens its form at the field."""

    sig_loaded = Signal()

    def __init__(
        self, view: Any, selected_visit: Callable[[], str | None], language: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("subjectMonitoring")
        self.view, self.selected_visit, self.language = view, selected_visit, language
        self.progress: SdvProgress | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.sdv_label = QLabel("")
        self.sdv_label.setObjectName("subjectSdv")
        self.sdv_label.setWordWrap(True)
        top.addWidget(self.sdv_label, 1)
        self.buttons: dict[str, QPushButton] = {}
        self.locks: list[LockInfo] = []
        self.ask_unlock: Callable[[], str | None] = lambda: ask_unlock_reason(self, self.language)
        for name, slot in (
            ("verify_visit", self.verify_visit),
            ("lock_visit", self.lock_visit),
            ("lock_subject", self.lock_subject),
            ("unlock", lambda: self.unlock()),
        ):
            button = QPushButton(mtext(name, language))
            button.setObjectName(f"subject_{name}")
            button.clicked.connect(slot)
            top.addWidget(button)
            self.buttons[name] = button
        layout.addLayout(top)
        self.visits = QLabel("")
        self.visits.setObjectName("visitSdv")
        self.visits.setWordWrap(True)
        layout.addWidget(self.visits)
        self.lock_line = QLabel("")
        self.lock_line.setObjectName("subjectLocks")
        self.lock_line.setWordWrap(True)
        self.lock_line.setStyleSheet("color: #41464b; font-weight: 600")
        self.lock_line.setVisible(False)
        layout.addWidget(self.lock_line)
        title = QLabel(f"<b>{mtext('subject_queries', language)}</b>")
        layout.addWidget(title)
        self.model = QueryTableModel(view.store.study, language, self)
        self.table = query_table(self.model, "subjectQueries")
        self.table.doubleClicked.connect(lambda index: self.sig_query_opened.emit(self.model.rows[index.row()]))
        layout.addWidget(self.table, 1)
        self.enable()

    def refresh(self) -> None:
        store, number = self.view.store, self.view.number
        self.view.worker.submit(
            lambda: (
                store.monitoring.sdv_progress(number),
                store.monitoring.queries(number),
                store.monitoring.locks(number),
            ),
            self._loaded,
            lambda message: self.sdv_label.setText(message),
        )

    def _loaded(self, result: tuple[SdvProgress, list[QueryRow], list[LockInfo]]) -> None:
        if not isValid(self):
            return  # the subject view was replaced before its read came back
        self.progress, queries, self.locks = result
        self._show_locks()
        language = self.language
        progress = self.progress
        self.sdv_label.setText(mtext("sdv_progress", language).format(verified=progress.verified, forms=progress.forms))
        parts = []
        for visit in progress.visits:
            key = "sdv_visit_dropped" if visit.dropped else "sdv_visit"
            counts = mtext(key, language).format(verified=visit.verified, forms=visit.forms, dropped=visit.dropped)
            colour = "#198754" if visit.forms and visit.verified == visit.forms else "#b35c00" if visit.dropped else ""
            name = self.model._name("visit", visit.visit_id)
            parts.append(f"<span style='color:{colour}'>{name}: {counts}</span>" if colour else f"{name}: {counts}")
        self.visits.setText(" · ".join(parts))
        self.model.set_rows(queries)
        self.enable()
        self.sig_loaded.emit()

    def _show_locks(self) -> None:
        lines = []
        for lock in self.locks:
            if lock.scope == "subject":
                scope = mtext("scope_subject", self.language)
            else:
                scope = self.model._name("visit", lock.visit_id)
                if lock.form_id:
                    scope = f"{self.model._name('form', lock.form_id)} · {scope}"
            when = local_time(lock.locked_at_utc)
            lines.append(mtext("locked_by", self.language).format(user=lock.locked_by, when=when, scope=scope))
        self.lock_line.setText("\n".join(lines))
        self.lock_line.setVisible(bool(lines))

    def unlockable(self) -> LockInfo | None:
        """What Unlock… unlocks here: the subject's lock, else the selected visit's."""
        visit = self.selected_visit()
        subject = next((lock for lock in self.locks if lock.scope == "subject"), None)
        return subject or next((lock for lock in self.locks if lock.scope == "visit" and lock.visit_id == visit), None)

    def visit_text(self, visit_id: str) -> str:
        """ "2/3 verified" of a visit, for the schedule's visit column."""
        found = next((v for v in self.progress.visits if v.visit_id == visit_id), None) if self.progress else None
        return (
            ""
            if found is None
            else mtext("sdv_visit", self.language).format(verified=found.verified, forms=found.forms)
        )

    def enable(self) -> None:
        role, visit = self.view.store.actor.role, self.selected_visit()
        for name, roles, rule in (
            ("verify_visit", SDV_ROLES, "only_monitor_verifies"),
            ("lock_visit", LOCK_ROLES, "only_dm_locks"),
        ):
            button = self.buttons[name]
            button.setEnabled(role in roles and visit is not None)
            why = "" if visit is not None else mtext("choose_visit", self.language)
            button.setToolTip(why if role in roles else mtext(rule, self.language))
        manager = role in LOCK_ROLES
        subject_locked = any(lock.scope == "subject" for lock in self.locks)
        self.buttons["lock_subject"].setEnabled(manager and not subject_locked)
        self.buttons["unlock"].setEnabled(manager and self.unlockable() is not None)
        for name in ("lock_subject", "unlock"):
            self.buttons[name].setToolTip("" if manager else mtext("only_dm_locks", self.language))

    def verify_visit(self) -> None:
        visit, store, number = self.selected_visit(), self.view.store, self.view.number
        if visit is not None:
            self.view.worker.submit(
                lambda: store.monitoring.verify(number, visit), lambda _n: self.view.refresh(), self.view.notice_text
            )

    def lock_subject(self) -> None:
        store, number = self.view.store, self.view.number
        self.view.worker.submit(
            lambda: store.monitoring.lock(number), lambda _r: self.view.refresh(), self.view.notice_text
        )

    def unlock(self, reason: str | None = None) -> bool:
        """Unlock the subject's lock or the selected visit's, with a reason; False when nothing was sent."""
        lock = self.unlockable()
        if lock is None:
            return False
        reason = reason if reason is not None else self.ask_unlock()
        if not reason or not reason.strip():
            return False
        store, number = self.view.store, self.view.number
        self.view.worker.submit(
            lambda: store.monitoring.unlock(number, lock.visit_id, lock.form_id, reason=reason),
            lambda _voided: self.view.refresh(),
            self.view.notice_text,
        )
        return True

    def lock_visit(self) -> None:
        visit, store, number = self.selected_visit(), self.view.store, self.view.number
        if visit is not None:
            self.view.worker.submit(
                lambda: store.monitoring.lock(number, visit), lambda _r: self.view.refresh(), self.view.notice_text
            )
