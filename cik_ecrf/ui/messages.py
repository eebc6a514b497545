"""How the form speaks: one look per severity, and the live "cannot complete yet" list.

Errors, warnings and notes each have their own symbol and colour (never colour alone), and a
confirmed warning says that it was confirmed. The list of what stops completion is rebuilt on every
change once shown, each line jumps to its field, and it scrolls in a fixed height so that it fits
a 1366×768 screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle, QWidget

from ..rules import Issue
from .texts import translator

COLOURS = {"error": "#b00020", "warning": "#8a5a00", "info": "#1f5fa8", "confirmed": "#3c6e47"}
SYMBOLS = {"error": "✖", "warning": "⚠", "info": "ℹ", "confirmed": "✔"}
CONTEXT = "Messages"
TEXTS = {
    "confirmed": QT_TRANSLATE_NOOP("Messages", "Confirmed: {message}"),
    "missing": QT_TRANSLATE_NOOP("Messages", "{field}: required, not filled in"),
    "future_date": QT_TRANSLATE_NOOP("Messages", "This date is in the future: it cannot be later than today."),
    "future_time": QT_TRANSLATE_NOOP("Messages", "This time is in the future: it cannot be later than now."),
}
PLAIN = {" is above the maximum today": "future_date", " is above the maximum now": "future_time"}
"""Engine wording ("2026-12-01T09:00+00:00 is above the maximum now") said the way a nurse would."""
_t = translator(CONTEXT, TEXTS)
CONFIRM_SUFFIXES = ("; please confirm", "，请确认")


@dataclass(frozen=True)
class Problem:
    """One line of the "cannot complete" list: where (a field id), how bad, and what to say."""

    field: str
    severity: str
    text: str


def issue_text(issue: Issue, language: str, confirmed: bool = False, symbol: bool = True) -> str:
    """The issue's message with its symbol; a confirmed warning drops "please confirm" and says so."""
    message = issue.message.get(language)
    if issue.code == "range":
        plain = next((key for ending, key in PLAIN.items() if issue.message.en.endswith(ending)), None)
        if plain is not None:
            message = _t(plain, language)
    if confirmed and issue.severity == "warning":
        for suffix in CONFIRM_SUFFIXES:
            message = message.removesuffix(suffix)
        return f"{SYMBOLS['confirmed']} {_t('confirmed', language).format(message=message)}"
    return f"{SYMBOLS[issue.severity]} {message}" if symbol else message


def worst(issues: tuple[Issue, ...], confirmed: frozenset[str] = frozenset()) -> str:
    severities = {
        "confirmed" if i.severity == "warning" and f"{i.field}:{i.code}" in confirmed else i.severity for i in issues
    }
    return next((s for s in ("error", "warning", "info", "confirmed") if s in severities), "info")


def missing_text(label: str, language: str) -> str:
    return _t("missing", language).format(field=label)


def severity_icon(widget: QWidget, severity: str) -> QIcon:
    pixmap = {
        "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
        "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    }.get(severity, QStyle.StandardPixmap.SP_MessageBoxInformation)
    return widget.style().standardIcon(pixmap)


class ProblemList(QListWidget):
    """What stops "Mark complete", one clickable line per problem; hidden while there is none."""

    sig_field_chosen = Signal(str)
    """The field id of the line the user clicked or pressed Enter on."""

    ROWS_SHOWN = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("completionProblems")
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.itemActivated.connect(self._chosen)
        self.itemClicked.connect(self._chosen)
        self.setVisible(False)

    def show_problems(self, problems: list[Problem]) -> None:
        self.clear()
        for problem in problems:
            item = QListWidgetItem(severity_icon(self, problem.severity), problem.text)
            item.setData(Qt.ItemDataRole.UserRole, problem.field)
            item.setToolTip(problem.text)
            self.addItem(item)
        row = self.sizeHintForRow(0) if problems else 0
        self.setFixedHeight(min(len(problems), self.ROWS_SHOWN) * max(row, 18) + 2 * self.frameWidth() + 2)
        self.setVisible(bool(problems))

    def lines(self) -> list[str]:
        return [self.item(i).text() for i in range(self.count())]

    def _chosen(self, item: QListWidgetItem) -> None:
        self.sig_field_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
