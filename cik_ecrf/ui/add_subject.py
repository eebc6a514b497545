"""Adding a subject from the ward: a new number from this laptop's sequence, or the paper screening
number already written on the subject's folder. The store decides (uniqueness, length); its refusal
stays in the dialog, next to what was typed, and the dialog stays open to correct it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from .login import ERROR_COLOUR, refusal_text
from .resources import icon
from .texts import translator
from .worker import StoreWorker

if TYPE_CHECKING:
    from ..store.api import Store

ADDING_ROLES = frozenset({"nurse", "investigator", "data_manager"})  # as the store's own check

CONTEXT = "AddSubject"
TEXTS = {
    "title": QT_TRANSLATE_NOOP("AddSubject", "Add a subject"),
    "new": QT_TRANSLATE_NOOP("AddSubject", "New subject number from this laptop ({example})"),
    "paper": QT_TRANSLATE_NOOP("AddSubject", "Paper screening number already given:"),
    "placeholder": QT_TRANSLATE_NOOP("AddSubject", "number on the paper screening log"),
    "add": QT_TRANSLATE_NOOP("AddSubject", "Add and open"),
    "cancel": QT_TRANSLATE_NOOP("AddSubject", "Cancel"),
    "adding": QT_TRANSLATE_NOOP("AddSubject", "Adding…"),
    "empty": QT_TRANSLATE_NOOP("AddSubject", "Type the paper screening number, or choose a new number."),
    "explain": QT_TRANSLATE_NOOP(
        "AddSubject", "The subject is added to this laptop's store and reaches the server at the next sync."
    ),
}
_t = translator(CONTEXT, TEXTS)


class AddSubjectDialog(QDialog):
    sig_added = Signal(str)
    """The new subject's number, once the store has added it (the dialog then closes)."""

    def __init__(self, store: Store, worker: StoreWorker, language: str = "en", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addSubjectDialog")
        self.setWindowTitle(_t("title", language))
        self.setWindowIcon(icon("add-subject"))
        self.store, self.worker, self.language = store, worker, language
        self._busy = False
        layout = QVBoxLayout(self)
        site = "SITE"
        self.new_number = QRadioButton(_t("new", language).format(example=f"{site}-DEVICE-NNNN"))
        self.new_number.setObjectName("newNumber")
        self.paper = QRadioButton(_t("paper", language))
        self.paper.setObjectName("paperNumber")
        group = QButtonGroup(self)
        for button in (self.new_number, self.paper):
            group.addButton(button)
        self.number = QLineEdit()
        self.number.setObjectName("paperNumberText")
        self.number.setPlaceholderText(_t("placeholder", language))
        self.number.setAccessibleName(_t("paper", language))
        self.number.setMaxLength(60)  # the store says 1–40; longer text is shown its refusal, not cut silently
        self.number.textEdited.connect(lambda _text: self.paper.setChecked(True))
        self.number.returnPressed.connect(self.add)
        self.new_number.setChecked(True)
        explain = QLabel(_t("explain", language))
        explain.setWordWrap(True)
        explain.setStyleSheet("color: #495057")
        self.message = QLabel("")
        self.message.setObjectName("addSubjectMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR}")
        self.buttons = QDialogButtonBox()
        self.add_button = self.buttons.addButton(_t("add", language), QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setObjectName("addSubjectButton")
        cancel = self.buttons.addButton(_t("cancel", language), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.setObjectName("addSubjectCancel")
        for button in (self.add_button, cancel):  # Enter adds (wired below), never "whichever has focus"
            button.setAutoDefault(False)
            button.setDefault(False)
        self.buttons.accepted.connect(self.add)
        self.buttons.rejected.connect(self.reject)
        for widget in (self.new_number, self.paper, self.number, explain, self.message, self.buttons):
            layout.addWidget(widget)
        self.setMinimumWidth(460)
        self.worker.submit(lambda: store.sync_device(), self._example)

    def _example(self, device: tuple[str, str, str]) -> None:
        _id, site, code = device
        self.new_number.setText(_t("new", self.language).format(example=f"{site}-{code}-NNNN"))

    def add(self) -> None:
        if self._busy:
            return
        paper = self.paper.isChecked()
        number = self.number.text().strip() if paper else None
        if paper and not number:
            self._say(_t("empty", self.language))
            self.number.setFocus()
            return
        self._busy = True
        self.add_button.setEnabled(False)
        self.message.setStyleSheet("color: #495057")
        self.message.setText(_t("adding", self.language))
        store = self.store
        self.worker.submit(lambda: store.add_subject(number), self._added, self._refused)

    @property
    def busy(self) -> bool:
        return self._busy

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter adds from anywhere in the dialog (a radio button included); Esc cancels as usual."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.add()
            return
        super().keyPressEvent(event)

    def _added(self, number: str) -> None:
        self._busy = False
        self.sig_added.emit(number)
        self.accept()

    def _refused(self, message: str) -> None:
        self._busy = False
        self.add_button.setEnabled(True)
        self._say(refusal_text(message, self.language))
        if self.paper.isChecked():
            self.number.setFocus()
            self.number.selectAll()

    def _say(self, text: str) -> None:
        self.message.setStyleSheet(f"color: {ERROR_COLOUR}")
        self.message.setText(text)
        self.message.setAccessibleDescription(text)
