"""Small dialogs of the monitoring actions: raise a query (on a field, the form or the visit, with its
text) and give the reason for an unlock.

They only ask; the caller sends the answer to the store on the worker. Each returns None when
cancelled, so a test (or another screen) can pass its own function in their place.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from .monitoring_texts import mtext

Target = tuple[str, str | None, str | None]
"""(label shown, form id or None for the visit, field id or None for the whole form)."""


class OpenQueryDialog(QDialog):
    """What the query is about (a field, the whole form, the whole visit) and its text."""

    def __init__(
        self, targets: Sequence[Target], chosen: int = 0, language: str = "en", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("openQueryDialog")
        self.setWindowTitle(mtext("open_query", language).rstrip("…"))
        self.targets = list(targets)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(mtext("target", language)))
        self.target = QComboBox()
        self.target.setObjectName("queryTarget")
        for label, _form, _field in self.targets:
            self.target.addItem(label)
        self.target.setCurrentIndex(max(0, min(chosen, len(self.targets) - 1)))
        layout.addWidget(self.target)
        layout.addWidget(QLabel(mtext("query_text", language)))
        self.text = QPlainTextEdit()
        self.text.setObjectName("newQueryText")
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(mtext("open_query", language).rstrip("…"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(mtext("cancel", language))
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.notice = QLabel("")
        self.notice.setStyleSheet("color: #b00020")
        layout.addWidget(self.notice)
        layout.addWidget(buttons)
        self.language = language
        self.resize(480, 260)

    def _accept(self) -> None:
        if not self.text.toPlainText().strip():
            self.notice.setText(mtext("needs_text", self.language))
            return
        self.accept()

    def answer(self) -> tuple[str | None, str | None, str] | None:
        _label, form, field = self.targets[self.target.currentIndex()]
        return form, field, self.text.toPlainText().strip()


def ask_new_query(
    parent: QWidget, targets: Sequence[Target], chosen: int, language: str
) -> tuple[str | None, str | None, str] | None:
    """(form, field, text) of the query to raise, or None when cancelled."""
    dialog = OpenQueryDialog(targets, chosen, language, parent)
    return dialog.answer() if dialog.exec() == QDialog.DialogCode.Accepted else None


def ask_unlock_reason(parent: QWidget, language: str) -> str | None:
    """The reason for an unlock (required), or None when cancelled."""
    dialog = QDialog(parent)
    dialog.setObjectName("unlockDialog")
    dialog.setWindowTitle(mtext("unlock_title", language))
    layout = QVBoxLayout(dialog)
    label = QLabel(mtext("unlock_reason", language))
    label.setWordWrap(True)
    layout.addWidget(label)
    text = QPlainTextEdit()
    text.setObjectName("unlockReason")
    layout.addWidget(text)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(mtext("unlock", language).rstrip("…"))
    buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(mtext("cancel", language))
    buttons.accepted.connect(lambda: dialog.accept() if text.toPlainText().strip() else None)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.resize(440, 200)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return text.toPlainText().strip()
