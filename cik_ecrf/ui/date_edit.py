"""Dates and times: typed (the fastest entry on a ward round), with a calendar on demand.

The text is what the engine reads, so a partial date ("2024-03") or an unreadable one is kept and
explained rather than refused by the widget. The calendar (the button, or Alt+Down / F4) only fills
in the date part; for a date-time the typed time is kept. A stored date-time is shown in the
laptop's local time and sent back with the laptop's UTC offset, as the data dictionary asks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QDate, QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCalendarWidget, QLabel, QToolButton, QVBoxLayout, QWidget

from ..definitions.spec import FieldSpec
from .fields import LineField
from .texts import translator

CONTEXT = "DateField"
TEXTS = {
    "date": QT_TRANSLATE_NOOP("DateField", "YYYY-MM-DD"),
    "partial_date": QT_TRANSLATE_NOOP("DateField", "YYYY-MM-DD, YYYY-MM or YYYY"),
    "datetime": QT_TRANSLATE_NOOP("DateField", "YYYY-MM-DD HH:MM (24 h, local time)"),
    "time": QT_TRANSLATE_NOOP("DateField", "HH:MM (24 h)"),
    "calendar": QT_TRANSLATE_NOOP("DateField", "Choose from a calendar (Alt+Down)"),
}
_t = translator(CONTEXT, TEXTS)
PLACEHOLDERS = {"date": "YYYY-MM-DD", "partial_date": "YYYY-MM-DD", "datetime": "YYYY-MM-DD HH:MM", "time": "HH:MM"}


def local_text(value: Any) -> str:
    """A stored date-time as the nurse reads and types it: local wall-clock time, no offset."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and len(value) > 16 and "T" in value:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        return "" if value is None else str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


class DateField(LineField):
    """date, partial_date, datetime and time: a line edit with a format hint and, for dates, a calendar."""

    def __init__(self, spec: FieldSpec, language: str, parent: QWidget | None = None) -> None:
        super().__init__(spec, language, parent)
        self.edit.setPlaceholderText(PLACEHOLDERS.get(spec.kind, ""))
        self.edit.installEventFilter(self)

    def _extras(self) -> None:
        self.popup: QWidget | None = None
        self.calendar_button: QToolButton | None = None
        kind = self.spec.kind
        if kind != "time":
            button = QToolButton()
            button.setObjectName(f"{self.spec.id}_calendar")
            button.setArrowType(Qt.ArrowType.DownArrow)
            button.setToolTip(_t("calendar", self.language))
            button.setAccessibleName(_t("calendar", self.language))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes field to field; Alt+Down opens it
            button.clicked.connect(self.open_calendar)
            self.layout_.addWidget(button)
            self.calendar_button = button
        hint = QLabel(_t(kind, self.language))
        hint.setObjectName(f"{self.spec.id}_hint")
        hint.setStyleSheet("color: #5f6368")
        self.edit.setToolTip(hint.text())
        self.layout_.addWidget(hint)
        self.edit.setMinimumWidth(self.edit.fontMetrics().horizontalAdvance("0000-00-00 00:00") + 16)
        self.layout_.setStretchFactor(self.edit, 0)
        self.layout_.addStretch(1)

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
        self.edit.setText(local_text(value) if self.spec.kind == "datetime" else _plain(value))

    # ------------------------------------------------------------------ calendar

    def _typed_date(self) -> QDate | None:
        text = self.edit.text().strip()[:10]
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return None
        return QDate(day.year, day.month, day.day)

    def open_calendar(self) -> QCalendarWidget:
        """A calendar under the field; picking a day writes it in the field and closes it."""
        popup = QWidget(self, Qt.WindowType.Popup)
        popup.setObjectName(f"{self.spec.id}_popup")
        layout = QVBoxLayout(popup)
        layout.setContentsMargins(0, 0, 0, 0)
        calendar = QCalendarWidget()
        calendar.setObjectName(f"{self.spec.id}_calendarWidget")
        calendar.setGridVisible(True)
        calendar.setSelectedDate(self._typed_date() or QDate.currentDate())
        calendar.activated.connect(lambda day: self.choose(day.toPython()))
        calendar.clicked.connect(lambda day: self.choose(day.toPython()))
        layout.addWidget(calendar)
        popup.move(self.edit.mapToGlobal(self.edit.rect().bottomLeft()))
        self.popup = popup
        popup.show()
        calendar.setFocus()
        return calendar

    def choose(self, day: dt.date) -> None:
        """The date part becomes `day`; a typed time after it is kept."""
        text = self.edit.text().strip()
        rest = text[10:] if self.spec.kind == "datetime" and len(text) > 10 else ""
        self.edit.setText(day.isoformat() + rest)
        if self.popup is not None:
            self.popup.close()
            self.popup.deleteLater()
            self.popup = None
        self.edit.setFocus()
        self.edit.end(False)
        self.edited.emit(self.raw())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.edit
            and self.calendar_button is not None
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and (
                event.key() == Qt.Key.Key_F4
                or (event.key() == Qt.Key.Key_Down and event.modifiers() & Qt.KeyboardModifier.AltModifier)
            )
        ):
            self.open_calendar()
            return True
        return super().eventFilter(watched, event)


def _plain(value: Any) -> str:
    from .fields import _text

    return _text(value)
