"""The signature dialog: the meaning, then the credentials (user id only when the session needs it)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from ..store.signatures import MEANINGS
from .texts import translator

CONTEXT = "SignDialog"
TEXTS = {
    "title": QT_TRANSLATE_NOOP("SignDialog", "Electronic signature"),
    "what": QT_TRANSLATE_NOOP(
        "SignDialog",
        "You are signing {what}. Your signature is the legally binding equivalent of your handwritten signature.",
    ),
    "meaning": QT_TRANSLATE_NOOP("SignDialog", "Meaning"),
    "user": QT_TRANSLATE_NOOP("SignDialog", "User id"),
    "password": QT_TRANSLATE_NOOP("SignDialog", "Password"),
}
_t = translator(CONTEXT, TEXTS)
ORDER = ("approve", "review", "author")  # the commonest first


@dataclass(frozen=True)
class SignInput:
    meaning: str
    password: str
    username: str | None = None  # None when the session did not ask for it


class SignDialog(QDialog):
    def __init__(self, language: str, what: str, username: str, ask_user: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signDialog")
        self.setWindowTitle(_t("title", language))
        form = QFormLayout(self)
        intro = QLabel(_t("what", language).format(what=what))
        intro.setWordWrap(True)
        form.addRow(intro)
        self.meaning = QComboBox()
        self.meaning.setObjectName("signMeaning")
        self.meaning.setAccessibleName(_t("meaning", language))
        for code in ORDER:
            self.meaning.addItem(MEANINGS[code].get(language), code)
        form.addRow(_t("meaning", language), self.meaning)
        self.user: QLineEdit | None = None
        if ask_user:
            self.user = QLineEdit()
            self.user.setObjectName("signUser")
            self.user.setAccessibleName(_t("user", language))
            form.addRow(_t("user", language), self.user)
        self.password = QLineEdit()
        self.password.setObjectName("signPassword")
        self.password.setAccessibleName(_t("password", language))
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(_t("password", language), self.password)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.setObjectName("signButtons")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        (self.user or self.password).setFocus()

    def answer(self) -> SignInput:
        """Read once: the password field is cleared as it is handed over."""
        password = self.password.text()
        self.password.clear()
        username = self.user.text().strip().lower() if self.user is not None else None
        return SignInput(self.meaning.currentData(), password, username)
