"""One widget per field type, built from the definition: the nurse's text goes to the rules engine
as typed, so the engine (not the widget) decides what is valid and says why.

Each widget also keeps its *entry* (what is on screen, e.g. the text as typed) apart from its raw
value, so that rebuilding a form (a change of language, a change of user) puts back exactly what
was typed instead of a re-formatted value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..definitions.spec import FieldSpec
from ..rules.jsonvalues import to_json

RADIO_LIMIT = 4  # up to this many codes show as radio buttons, more as a drop-down list


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)  # keeps the places a decimal(n) field shows: 1.30, not 1.3
    return str(to_json(value))


class WheelGuard(QObject):
    """The mouse wheel scrolls the form; it changes a drop-down or spin box only once that has focus.

    Without this, scrolling down a form over an AE grade silently changes "Grade 5" to "Grade 3". The
    wheel event is ignored (not swallowed) so that Qt passes it on to the scroll area underneath.
    """

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()
            return True
        return False


WHEEL_GUARD = WheelGuard()


def guard_wheel(widget: QWidget) -> None:
    """Click or Tab gives focus (never the wheel), and the wheel needs that focus to change the value."""
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    widget.installEventFilter(WHEEL_GUARD)


def guard_all(root: QWidget) -> None:
    for widget in root.findChildren(QComboBox) + root.findChildren(QAbstractSpinBox):
        guard_wheel(widget)


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

    # Each field type defines both: the value the rules engine reads, and putting one back on screen.
    raw: Callable[[], Any]
    set_raw: Callable[[Any], None]

    def entry(self) -> Any:
        """What is on screen, in a form `set_entry` puts back unchanged."""
        return self.raw()

    def set_entry(self, entry: Any) -> None:
        self.set_raw(entry)

    def focus_target(self) -> QWidget:
        return self

    def focus_chain(self) -> list[QWidget]:
        """Every widget of this field that takes Tab focus, in reading order."""
        return [self.focus_target()]

    def set_read_only(self, read_only: bool, why: str = "") -> None:
        """Shown but not changeable (e.g. a confirmation only an investigator gives), with the reason."""
        self.setEnabled(not read_only)
        self.setToolTip(why if read_only else "")

    def _units(self) -> None:
        units = self.spec.definition.units
        if units:
            label = QLabel(units if isinstance(units, str) else units.get(self.language))
            label.setObjectName(f"{self.spec.id}_units")
            self.layout_.addWidget(label)


class LineField(FieldWidget):
    """text, integer and decimal: typed as text, read by the engine."""

    def __init__(self, spec: FieldSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(spec, language, parent)
        self.edit = QLineEdit()
        self.edit.setObjectName(f"{spec.id}_edit")
        self.edit.setAccessibleName(self.accessibleName())
        if spec.definition.length and spec.definition.length.max:
            self.edit.setMaxLength(spec.definition.length.max + 50)  # room to see the error, not to lose text
        self.edit.textEdited.connect(lambda _text: self.edited.emit(self.raw()))
        self.layout_.addWidget(self.edit, 1)
        self._extras()
        self._units()

    def _extras(self) -> None:
        """Room for a subclass's calendar button and format hint."""

    def raw(self) -> Any:
        return self.edit.text().strip()

    def set_raw(self, value: Any) -> None:
        self.edit.setText(_text(value))

    def entry(self) -> Any:
        return self.edit.text()

    def set_entry(self, entry: Any) -> None:
        self.edit.setText("" if entry is None else str(entry))

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
            guard_wheel(self.combo)
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
        """The chosen radio button (where arrow keys continue), else the first; or the drop-down."""
        if self.combo is not None:
            return self.combo
        checked = self.group.checkedButton()
        return checked or (self.radios[0] if self.radios else self)

    def focus_chain(self) -> list[QWidget]:
        return [self.combo] if self.combo is not None else list(self.radios)


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

    def focus_chain(self) -> list[QWidget]:
        return [box for _code, box in self.boxes]


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
        if (
            isinstance(value, (int, Decimal))
            and not isinstance(value, bool)
            and value < 0
            and self.spec.kind == "integer"
        ):
            self.label.setText("—")  # a negative age or count is the sign of dates in the wrong order, not a value
            return
        if isinstance(value, dt.datetime):
            self.label.setText(value.astimezone().strftime("%Y-%m-%d %H:%M"))
            return
        self.label.setText("—" if value is None else label or _text(value))

    def focus_chain(self) -> list[QWidget]:
        return []


def make_field_widget(spec: FieldSpec, language: str) -> FieldWidget:
    from .date_edit import DateField
    from .group_table import GroupField

    definition = spec.definition
    if definition.type == "derived" or definition.entry == "server":
        return DerivedField(spec, language)
    if definition.type in ("choice", "yesno"):
        return ChoiceField(spec, language)
    if definition.type == "multichoice":
        return MultiChoiceField(spec, language)
    if definition.type == "group":
        return GroupField(spec, language)
    if definition.type in ("date", "partial_date", "datetime", "time"):
        return DateField(spec, language)
    return LineField(spec, language)


def __getattr__(name: str) -> Any:
    """`GroupField` and `DateField` live in their own modules; importable from here as before."""
    if name == "GroupField":
        from .group_table import GroupField

        return GroupField
    if name == "DateField":
        from .date_edit import DateField

        return DateField
    raise AttributeError(name)
