"""One widget per field type, built from the definition: the nurse's text goes to the rules engine
as typed, so the engine (not the widget) decides what is valid and says why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..definitions.spec import FieldSpec
from ..rules.jsonvalues import to_json

RADIO_LIMIT = 4  # up to this many codes show as radio buttons, more as a drop-down list
PLACEHOLDERS = {
    "date": "YYYY-MM-DD",
    "partial_date": "YYYY / YYYY-MM / YYYY-MM-DD",
    "datetime": "YYYY-MM-DD HH:MM",
    "time": "HH:MM",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)  # keeps the places a decimal(n) field shows: 1.30, not 1.3
    return str(to_json(value))


class FieldWidget(QWidget):
    """Base: `raw()` is what goes to the engine; `edited` fires on every change the user makes."""

    edited = Signal(object)
    """The field's raw value after a keystroke or a choice (sent to the rules engine)."""

    def __init__(self, spec: FieldSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.language = language
        self.setObjectName(spec.id)
        self.setAccessibleName(spec.definition.label.get(language))
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)

    # Each subclass defines raw() -> Any and set_raw(value) -> None.

    def focus_target(self) -> QWidget:
        return self

    def _units(self) -> None:
        units = self.spec.definition.units
        if units:
            label = QLabel(units if isinstance(units, str) else units.get(self.language))
            label.setObjectName(f"{self.spec.id}_units")
            self.layout_.addWidget(label)


class LineField(FieldWidget):
    """text, integer, decimal, dates and times: typed as text, read by the engine."""

    def __init__(self, spec: FieldSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(spec, language, parent)
        self.edit = QLineEdit()
        self.edit.setObjectName(f"{spec.id}_edit")
        self.edit.setAccessibleName(self.accessibleName())
        self.edit.setPlaceholderText(PLACEHOLDERS.get(spec.kind, ""))
        if spec.definition.length and spec.definition.length.max:
            self.edit.setMaxLength(spec.definition.length.max + 50)  # room to see the error, not to lose text
        self.edit.textEdited.connect(lambda _text: self.edited.emit(self.raw()))
        self.layout_.addWidget(self.edit, 1)
        self._units()

    def raw(self) -> Any:
        text = self.edit.text().strip()
        if self.spec.kind == "datetime" and text and len(text) in (16, 19) and "+" not in text[10:] and "Z" not in text:
            # The nurse types local time; the device's UTC offset is added, as the data dictionary asks.
            try:
                local = dt.datetime.fromisoformat(text.replace(" ", "T"))
                return local.astimezone().isoformat(timespec="minutes")
            except ValueError:
                return text
        return text

    def set_raw(self, value: Any) -> None:
        self.edit.setText(_text(value))

    def focus_target(self) -> QWidget:
        return self.edit


class ChoiceField(FieldWidget):
    """choice and yesno: radio buttons for short lists, a drop-down list for long ones."""

    def __init__(self, spec: FieldSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(spec, language, parent)
        self.codes = [c.code for c in spec.codes]
        self.radios: list[QRadioButton] = []
        self.combo: QComboBox | None = None
        if len(spec.codes) <= RADIO_LIMIT:
            self.group = QButtonGroup(self)
            self.group.setExclusive(True)
            for index, code in enumerate(spec.codes):
                button = QRadioButton(code.label.get(language))
                button.setObjectName(f"{spec.id}_{code.code}")
                self.group.addButton(button, index)
                self.radios.append(button)
                self.layout_.addWidget(button)
            self.group.idClicked.connect(lambda _id: self.edited.emit(self.raw()))
            self.layout_.addStretch(1)
        else:
            self.combo = QComboBox()
            self.combo.setObjectName(f"{spec.id}_combo")
            self.combo.setAccessibleName(self.accessibleName())
            # long code labels must not widen the whole form: the list pops up at full width anyway
            self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            self.combo.setMinimumContentsLength(16)
            self.combo.addItem("", None)
            for code in spec.codes:
                self.combo.addItem(f"{code.label.get(language)}", code.code)
            self.combo.activated.connect(lambda _index: self.edited.emit(self.raw()))
            self.layout_.addWidget(self.combo, 1)
        self._units()

    def raw(self) -> Any:
        if self.combo is not None:
            return self.combo.currentData()
        checked = self.group.checkedId()
        return self.codes[checked] if checked >= 0 else None

    def set_raw(self, value: Any) -> None:
        if self.combo is not None:
            index = self.combo.findData(value)
            self.combo.setCurrentIndex(max(index, 0))
            return
        self.group.setExclusive(False)
        for code, button in zip(self.codes, self.radios):
            button.setChecked(code == value)
        self.group.setExclusive(True)

    def focus_target(self) -> QWidget:
        return self.combo if self.combo is not None else (self.radios[0] if self.radios else self)


class MultiChoiceField(FieldWidget):
    def __init__(self, spec: FieldSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(spec, language, parent)
        self.boxes: list[tuple[Any, QCheckBox]] = []
        column = QVBoxLayout()
        for code in spec.codes:
            box = QCheckBox(code.label.get(language))
            box.setObjectName(f"{spec.id}_{code.code}")
            box.toggled.connect(lambda _on: self.edited.emit(self.raw()))
            column.addWidget(box)
            self.boxes.append((code.code, box))
        self.layout_.addLayout(column)

    def raw(self) -> Any:
        return [code for code, box in self.boxes if box.isChecked()]

    def set_raw(self, value: Any) -> None:
        chosen = set(value or [])
        for code, box in self.boxes:
            box.blockSignals(True)
            box.setChecked(code in chosen)
            box.blockSignals(False)

    def focus_target(self) -> QWidget:
        return self.boxes[0][1] if self.boxes else self


class DerivedField(FieldWidget):
    """Computed by the rules; shown read-only, never typed."""

    def __init__(self, spec: FieldSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(spec, language, parent)
        self.label = QLabel("—")
        self.label.setObjectName(f"{spec.id}_value")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_.addWidget(self.label, 1)
        self._units()
        self.value: Any = None

    def raw(self) -> Any:
        return self.value

    def set_raw(self, value: Any) -> None:
        self.value = value
        label = self.spec.code_label(to_json(value), self.language) if self.spec.codes else None
        self.label.setText("—" if value is None else label or _text(value))


class GroupField(FieldWidget):
    """Repeating rows as an editable table; each cell is typed text (codes for choice columns)."""

    def __init__(self, spec: FieldSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(spec, language, parent)
        self.columns = list(spec.sub_fields)
        self.table = QTableWidget(0, len(self.columns))
        self.table.setObjectName(f"{spec.id}_table")
        self.table.setHorizontalHeaderLabels([c.definition.label.get(language) for c in self.columns])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMaximumHeight(180)  # a few rows; it scrolls beyond
        self.table.itemChanged.connect(lambda _item: self.edited.emit(self.raw()))
        buttons = QVBoxLayout()
        add = QPushButton("+")
        add.setObjectName(f"{spec.id}_add")
        add.setAccessibleName(f"{self.accessibleName()}: add row")
        add.clicked.connect(self.add_row)
        remove = QPushButton("−")
        remove.setObjectName(f"{spec.id}_remove")
        remove.setAccessibleName(f"{self.accessibleName()}: remove row")
        remove.clicked.connect(self.remove_row)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        self.layout_.addWidget(self.table, 1)
        self.layout_.addLayout(buttons)

    def add_row(self) -> None:
        self.table.insertRow(self.table.rowCount())
        self.edited.emit(self.raw())

    def remove_row(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self.edited.emit(self.raw())

    def raw(self) -> Any:
        rows = []
        for r in range(self.table.rowCount()):
            row: dict[str, Any] = {}
            for c, column in enumerate(self.columns):
                item = self.table.item(r, c)
                text = item.text().strip() if item else ""
                if text:
                    row[column.id] = text
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
                self.table.setItem(r, c, QTableWidgetItem(_text(cell)))
        self.table.blockSignals(False)

    def focus_target(self) -> QWidget:
        return self.table


def make_field_widget(spec: FieldSpec, language: str) -> FieldWidget:
    definition = spec.definition
    if definition.type == "derived" or definition.entry == "server":
        return DerivedField(spec, language)
    if definition.type in ("choice", "yesno"):
        return ChoiceField(spec, language)
    if definition.type == "multichoice":
        return MultiChoiceField(spec, language)
    if definition.type == "group":
        return GroupField(spec, language)
    return LineField(spec, language)
