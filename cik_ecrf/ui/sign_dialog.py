"""The signature dialog: the meaning, then the credentials (user id only when the session needs it).

The dialog stays open until the store has accepted the signature: a wrong password is said in the
dialog itself (in red, the password cleared for another try), never by closing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from ..store.signatures import MEANINGS
from .password_attempt import PasswordAttempt
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
    "signing": QT_TRANSLATE_NOOP("SignDialog", "Checking the password and signing…"),
    "sign": QT_TRANSLATE_NOOP("SignDialog", "Sign"),
    "cancel": QT_TRANSLATE_NOOP("SignDialog", "Cancel"),
    "empty": QT_TRANSLATE_NOOP("SignDialog", "Enter your password to sign."),
}
_t = translator(CONTEXT, TEXTS)
ORDER = ("approve", "review", "author")  # the commonest first


@dataclass(frozen=True)
class SignInput:
    meaning: str
    password: str
    username: str | None = None  # None when the session did not ask for it


Attempt = Callable[[SignInput, Callable[[str | None], None]], None]
"""Try to sign with the input; call back with None (signed) or the message saying why not."""


class SignDialog(PasswordAttempt):
    def __init__(
        self,
        language: str,
        what: str,
        username: str,
        ask_user: bool,
        parent: QWidget | None = None,
        attempt: Attempt | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("signDialog")
        self.setWindowTitle(_t("title", language))
        self.language, self.attempt = language, attempt
        form = QFormLayout(self)
        intro = QLabel(_t("what", language).format(what=what))
        intro.setObjectName("signWhat")
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
        self.message = QLabel("")
        self.message.setObjectName("signMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020; font-weight: bold")
        form.addRow(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.setObjectName("signButtons")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_t("sign", language))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_t("cancel", language))
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.setMinimumWidth(460)
        (self.user or self.password).setFocus()

    def answer(self) -> SignInput:
        """Read once: the password field is cleared as it is handed over."""
        password = self.password.text()
        self.password.clear()
        username = self.user.text().strip().lower() if self.user is not None else None
        return SignInput(self.meaning.currentData(), password, username)

    def _ok(self) -> None:
        if self.attempt is None:
            self.accept()
            return
        if not self.password.text():
            self.show_error(_t("empty", self.language))
            return
        self.working(_t("signing", self.language))
        self.attempt(self.answer(), self._attempted)
