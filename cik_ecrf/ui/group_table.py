"""A repeating group (molecular findings, evidence of CAR-T loss) as a table the nurse fills row by row.

Choice columns are drop-downs showing the code lists' labels (the code is kept under the label),
date columns hint their format, and each row's problems are shown in the row itself: the cell is
marked and a last column says what is wrong, beside the value rather than below the table.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..definitions.spec import FieldSpec
from ..rules import Issue
from .fields import FieldWidget, _text, guard_wheel
from .texts import translator

CODE = Qt.ItemDataRole.UserRole
CONTEXT = "GroupField"
TEXTS = {
    "add": QT_TRANSLATE_NOOP("GroupField", "Add a row (Insert)"),
    "remove": QT_TRANSLATE_NOOP("GroupField", "Remove the selected row (Ctrl+Delete)"),
    "problems": QT_TRANSLATE_NOOP("GroupField", "Problems"),
    "empty": QT_TRANSLATE_NOOP("GroupField", "required, not filled in"),
}
_t = translator(CONTEXT, TEXTS)
ERROR_BACKGROUND = QColor("#fde7e9")
WARNING_BACKGROUND = QColor("#fff4ce")
DATE_HINTS = {"date": "YYYY-MM-DD", "partial_date": "YYYY-MM-DD", "datetime": "YYYY-MM-DD HH:MM", "time": "HH:MM"}


class CellDelegate(QStyledItemDelegate):
    """A drop-down of labels for choice columns; a hinted line edit for the others."""

    def __init__(self, columns: list[FieldSpec], language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns, self.language = columns, language

    def _spec(self, index: QModelIndex | QPersistentModelIndex) -> FieldSpec | None:
        return self.columns[index.column()] if index.column() < len(self.columns) else None

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QWidget:
        spec = self._spec(index)
        if spec is not None and spec.codes:
            combo = QComboBox(parent)
            combo.setObjectName(f"{spec.id}_cellCombo")
            guard_wheel(combo)
            combo.addItem("", None)
            for code in spec.codes:
                combo.addItem(code.label.get(self.language), code.code)
            combo.activated.connect(lambda _i: self.commitData.emit(combo))
            return combo
        editor = QLineEdit(parent)
        if spec is not None:
            editor.setPlaceholderText(DATE_HINTS.get(spec.kind, ""))
        return editor

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(editor.findData(index.data(CODE)), 0))
            editor.showPopup()  # one key or click opens the list: the nurse picks, not types codes
            return
        super().setEditorData(editor, index)

    def setModelData(
        self, editor: QWidget, model: QAbstractItemModel, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), CODE)
            model.setData(index, editor.currentText(), Qt.ItemDataRole.DisplayRole)
            return
        super().setModelData(editor, model, index)


class GroupField(FieldWidget):
    """Repeating rows as an editable table: labels in choice columns, problems beside each row."""

    def __init__(self, spec: FieldSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(spec, language, parent)
        self.columns = list(spec.sub_fields)
        self.table = QTableWidget(0, len(self.columns) + 1)
        self.table.setObjectName(f"{spec.id}_table")
        self.table.setAccessibleName(self.accessibleName())
        headers = [c.definition.label.get(language) + (" *" if c.definition.required else "") for c in self.columns]
        self.table.setHorizontalHeaderLabels([*headers, _t("problems", language)])
        for column, sub in enumerate(self.columns):
            if sub.definition.help:
                self.table.horizontalHeaderItem(column).setToolTip(sub.definition.help.get(language))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # headers are never clipped
        header.setStretchLastSection(True)
        self.table.setItemDelegate(CellDelegate(self.columns, language, self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the next field; arrows move inside
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.setMinimumHeight(120)
        self.table.setMaximumHeight(200)  # a few rows; it scrolls beyond
        self.table.itemChanged.connect(self._changed)
        self.table.installEventFilter(self)
        buttons = QVBoxLayout()
        self.add_button = QPushButton("+")
        self.add_button.setObjectName(f"{spec.id}_add")
        self.add_button.setToolTip(_t("add", language))
        self.add_button.setAccessibleName(f"{self.accessibleName()}: {_t('add', language)}")
        self.add_button.clicked.connect(self.add_row)
        self.remove_button = QPushButton("−")
        self.remove_button.setObjectName(f"{spec.id}_remove")
        self.remove_button.setToolTip(_t("remove", language))
        self.remove_button.setAccessibleName(f"{self.accessibleName()}: {_t('remove', language)}")
        self.remove_button.clicked.connect(self.remove_row)
        for button in (self.add_button, self.remove_button):
            button.setFixedWidth(32)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.layout_.addWidget(self.table, 1)
        self.layout_.addLayout(buttons)

    def _changed(self, item: QTableWidgetItem) -> None:
        if item.column() < len(self.columns):
            self.edited.emit(self.raw())

    def add_row(self) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self._problem_item(row)
        self.table.setCurrentCell(row, 0)
        self.edited.emit(self.raw())

    def remove_row(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self.edited.emit(self.raw())

    def _problem_item(self, row: int) -> QTableWidgetItem:
        item = self.table.item(row, len(self.columns))
        if item is None:
            item = QTableWidgetItem("")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # read-only
            self.table.blockSignals(True)
            self.table.setItem(row, len(self.columns), item)
            self.table.blockSignals(False)
        return item

    def raw(self) -> Any:
        rows = []
        for r in range(self.table.rowCount()):
            row: dict[str, Any] = {}
            for c, column in enumerate(self.columns):
                item = self.table.item(r, c)
                if item is None:
                    continue
                code = item.data(CODE)
                value = code if column.codes and code is not None else item.text().strip()
                if value not in (None, ""):
                    row[column.id] = value
            rows.append(row)
        return rows

    def set_raw(self, value: Any) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for row in value or []:
            r = self.table.rowCount()
            self.table.insertRow(r)
            for c, column in enumerate(self.columns):
                cell = row.get(column.id)
                item = QTableWidgetItem(_text(cell))
                if column.codes and cell is not None:
                    item.setData(CODE, cell)
                    item.setText(column.code_label(cell, self.language) or _text(cell))
                self.table.setItem(r, c, item)
        self.table.blockSignals(False)
        for r in range(self.table.rowCount()):
            self._problem_item(r)

    def show_issues(self, issues: tuple[Issue, ...], missing: tuple[str, ...] = ()) -> None:
        """Each row's problems in its own last column, the cells concerned shaded; the rest is the caller's."""
        self.table.blockSignals(True)
        by_row: dict[int, list[str]] = {}
        marked: dict[tuple[int, int], str] = {}
        names = {c.id: i for i, c in enumerate(self.columns)}
        for issue in issues:
            if issue.row is None:
                continue
            column = names.get(issue.column or "")
            label = self.columns[column].definition.label.get(self.language) if column is not None else ""
            by_row.setdefault(issue.row, []).append(f"{label}: {issue.message.get(self.language)}".lstrip(": "))
            if column is not None and marked.get((issue.row, column)) != "error":
                marked[(issue.row, column)] = issue.severity
        for location in missing:  # "MOLEC[2].GENE": a required cell left empty
            head, _, column_id = location.partition("].")
            if not column_id or head.split("[")[0] != self.spec.id or column_id not in names:
                continue
            row = int(head.split("[")[1]) - 1
            label = self.columns[names[column_id]].definition.label.get(self.language)
            by_row.setdefault(row, []).append(f"{label}: {_t('empty', self.language)}")
            marked.setdefault((row, names[column_id]), "warning")
        for r in range(self.table.rowCount()):
            problem = self._problem_item(r)
            lines = by_row.get(r, [])
            problem.setText(("✖ " if lines else "") + "; ".join(lines))
            problem.setToolTip("\n".join(lines))
            problem.setForeground(QBrush(QColor("#b00020")))
            for c in range(len(self.columns)):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem("")
                    self.table.setItem(r, c, item)
                severity = marked.get((r, c))
                colour = ERROR_BACKGROUND if severity == "error" else WARNING_BACKGROUND if severity else None
                item.setBackground(QBrush(colour) if colour else QBrush())
        self.table.blockSignals(False)
        self.table.resizeRowsToContents()

    def focus_target(self) -> QWidget:
        return self.table

    def focus_chain(self) -> list[QWidget]:
        return [self.table, self.add_button, self.remove_button]

    def eventFilter(self, watched: Any, event: Any) -> bool:
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeyEvent

        if watched is self.table and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Insert:
                self.add_row()
                return True
            if event.key() == Qt.Key.Key_Delete and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.remove_row()
                return True
        return super().eventFilter(watched, event)
