"""Fields in conflict after a sync: every value with its author and time, resolved only with a reason.

Two laptops changed the same field from the same version; neither value won. The user picks the
right one (after checking the source document) and says why; the resolution is a new audited
change that reaches every laptop of the site.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .sync_panel import local_time
from .texts import translator
from .worker import StoreWorker

if TYPE_CHECKING:
    from ..store.api import Store
    from ..store.sync_local import Candidate, Conflict

CONTEXT = "Conflicts"
TEXTS = {
    "title": QT_TRANSLATE_NOOP("Conflicts", "Conflicts"),
    "intro": QT_TRANSLATE_NOOP(
        "Conflicts",
        "These fields were changed on two laptops from the same value. Check the source document, choose the right value and say why.",
    ),
    "subject": QT_TRANSLATE_NOOP("Conflicts", "Subject"),
    "visit": QT_TRANSLATE_NOOP("Conflicts", "Visit"),
    "form": QT_TRANSLATE_NOOP("Conflicts", "Form"),
    "field": QT_TRANSLATE_NOOP("Conflicts", "Field"),
    "values": QT_TRANSLATE_NOOP("Conflicts", "Values (who, when)"),
    "choose": QT_TRANSLATE_NOOP("Conflicts", "Keep the value"),
    "reason": QT_TRANSLATE_NOOP("Conflicts", "Reason"),
    "resolve": QT_TRANSLATE_NOOP("Conflicts", "Resolve"),
    "none": QT_TRANSLATE_NOOP("Conflicts", "No conflicts."),
    "need_reason": QT_TRANSLATE_NOOP("Conflicts", "Say why this value is the right one."),
    "resolved": QT_TRANSLATE_NOOP("Conflicts", "Resolved: {field} = {value}"),
}
_t = translator(CONTEXT, TEXTS)
COLUMNS = ("subject", "visit", "form", "field", "values")


def _shown(value: Any) -> str:
    return "—" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def candidate_text(candidate: Candidate) -> str:
    return f"{_shown(candidate.value)}  ({candidate.username}, {local_time(candidate.at_utc)})"


class ConflictDialog(QDialog):
    sig_loaded = Signal(list)
    """The conflicts shown, after each (re)load."""

    sig_resolved = Signal(str)
    """`FIELD` after its conflict was resolved."""

    sig_refused = Signal(str)

    def __init__(self, store: Store, worker: StoreWorker, language: str = "en", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conflictView")
        self.store, self.worker, self.language = store, worker, language
        self.conflicts: list[Conflict] = []
        self.setWindowTitle(_t("title", language))
        self.resize(900, 420)
        layout = QVBoxLayout(self)
        intro = QLabel(_t("intro", language))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("conflictTable")
        self.table.setHorizontalHeaderLabels([_t(c, language) for c in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.currentCellChanged.connect(lambda row, *_: self._select(row))
        layout.addWidget(self.table, 1)
        form = QFormLayout()
        self.choice = QComboBox()
        self.choice.setObjectName("conflictChoice")
        self.choice.setAccessibleName(_t("choose", language))
        form.addRow(_t("choose", language), self.choice)
        self.reason = QLineEdit()
        self.reason.setObjectName("conflictReason")
        self.reason.setAccessibleName(_t("reason", language))
        form.addRow(_t("reason", language), self.reason)
        layout.addLayout(form)
        self.resolve_button = QPushButton(_t("resolve", language))
        self.resolve_button.setObjectName("resolveConflict")
        self.resolve_button.clicked.connect(self.resolve)
        layout.addWidget(self.resolve_button)
        self.message = QLabel("")
        self.message.setObjectName("conflictMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.reload()

    def reload(self) -> None:
        self.worker.submit(self.store.conflicts, self._loaded, self._refused)

    def _loaded(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        self.table.setRowCount(len(conflicts))
        for row, conflict in enumerate(conflicts):
            cells = (
                conflict.subject,
                self._visit(conflict.visit_id),
                self._form(conflict.form_id),
                self._field(conflict),
                "\n".join(candidate_text(c) for c in conflict.candidates),
            )
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.resizeRowsToContents()
        self.resolve_button.setEnabled(bool(conflicts))
        if not conflicts:
            self.choice.clear()
            self.message.setText(_t("none", self.language))
        else:
            self.table.setCurrentCell(0, 0)
            self._select(0)
        self.sig_loaded.emit(conflicts)

    def _visit(self, visit: str) -> str:
        try:
            return self.store.study.visit(visit).label.get(self.language)
        except KeyError:
            return visit

    def _form(self, form: str) -> str:
        spec = self.store.study.forms.get(form)
        return spec.definition.title.get(self.language) if spec else form

    def _field(self, conflict: Conflict) -> str:
        spec = (
            self.store.study.forms[conflict.form_id].fields.get(conflict.field_id)
            if conflict.form_id in self.store.study.forms
            else None
        )
        return f"{spec.definition.label.get(self.language)} ({conflict.field_id})" if spec else conflict.field_id

    def _select(self, row: int) -> None:
        self.choice.clear()
        if 0 <= row < len(self.conflicts):
            for candidate in self.conflicts[row].candidates:
                self.choice.addItem(candidate_text(candidate))

    def resolve(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self.conflicts):
            return
        reason = self.reason.text().strip()
        if not reason:
            self.message.setText(_t("need_reason", self.language))
            self.reason.setFocus()
            return
        conflict = self.conflicts[row]
        value = conflict.candidates[max(0, self.choice.currentIndex())].value

        def done(_: object) -> None:
            self.reason.clear()
            self.message.setText(_t("resolved", self.language).format(field=conflict.field_id, value=_shown(value)))
            self.sig_resolved.emit(conflict.field_id)
            self.reload()

        self.worker.submit(
            lambda: self.store.resolve_conflict(conflict.instance_id, conflict.field_id, value, reason),
            done,
            self._refused,
        )

    def _refused(self, message: str) -> None:
        self.message.setText(message)
        self.sig_refused.emit(message)
