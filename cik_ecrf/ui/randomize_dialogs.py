"""The dialogs of randomization: the investigator's password before randomizing, the password and a reason
before an emergency unblinding, and the one window that ever shows an arm.

Like the signature dialog, the credential dialogs stay open until the server has answered, so a wrong
password or a lost connection is said in the dialog itself and can be tried again. The arm is handed to
`ArmDialog` as a string, shown, and dropped with the dialog: nothing here stores, logs or prints it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from .password_attempt import PasswordAttempt
from .texts import translator

CONTEXT = "RandomizeDialogs"
TEXTS = {
    "randomize_title": QT_TRANSLATE_NOOP("RandomizeDialogs", "Randomize {subject}"),
    "randomize_intro": QT_TRANSLATE_NOOP(
        "RandomizeDialogs",
        "The central server assigns {subject} the next allocation of the subject's stratum: a randomization "
        "number and a blinded product code. This cannot be undone from a laptop. Enter your password to go on.",
    ),
    "randomize": QT_TRANSLATE_NOOP("RandomizeDialogs", "Randomize"),
    "unblind_title": QT_TRANSLATE_NOOP("RandomizeDialogs", "Emergency unblinding of {subject}"),
    "unblind_intro": QT_TRANSLATE_NOOP(
        "RandomizeDialogs",
        "Only when knowing the treatment is needed for the subject's care. The server records who unblinded, "
        "when and why, and tells the data manager. The arm of this one subject is then shown once; it is not "
        "kept on this laptop.",
    ),
    "unblind": QT_TRANSLATE_NOOP("RandomizeDialogs", "Unblind"),
    "reason": QT_TRANSLATE_NOOP("RandomizeDialogs", "Reason"),
    "password": QT_TRANSLATE_NOOP("RandomizeDialogs", "Password"),
    "cancel": QT_TRANSLATE_NOOP("RandomizeDialogs", "Cancel"),
    "working": QT_TRANSLATE_NOOP("RandomizeDialogs", "Asking the central server…"),
    "no_password": QT_TRANSLATE_NOOP("RandomizeDialogs", "Enter your password."),
    "no_reason": QT_TRANSLATE_NOOP("RandomizeDialogs", "Give the reason for unblinding."),
    "arm_title": QT_TRANSLATE_NOOP("RandomizeDialogs", "Treatment of {subject}"),
    "arm_intro": QT_TRANSLATE_NOOP("RandomizeDialogs", "{subject} was allocated to:"),
    "arm_note": QT_TRANSLATE_NOOP(
        "RandomizeDialogs",
        "Shown once, for this subject only. It is not stored on this laptop, and it is not shown again "
        "when this window closes.",
    ),
    "close": QT_TRANSLATE_NOOP("RandomizeDialogs", "Close"),
}
_t = translator(CONTEXT, TEXTS)


@dataclass(frozen=True)
class Credentials:
    password: str
    reason: str | None = None  # only an unblinding asks for one


Attempt = Callable[[Credentials, Callable[[str | None], None]], None]
"""Try with the input; call back with None (done) or the one line saying why not."""


class CredentialsDialog(PasswordAttempt):
    """The password (and for an unblinding, a reason), kept open until the server has answered."""

    def __init__(
        self,
        kind: str,
        subject: str,
        language: str,
        attempt: Attempt | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        assert kind in ("randomize", "unblind")
        self.kind, self.language, self.attempt = kind, language, attempt
        self.setObjectName(f"{kind}Dialog")
        self.setWindowTitle(_t(f"{kind}_title", language).format(subject=subject))
        form = QFormLayout(self)
        intro = QLabel(_t(f"{kind}_intro", language).format(subject=subject))
        intro.setObjectName(f"{kind}Intro")
        intro.setWordWrap(True)
        form.addRow(intro)
        self.reason: QPlainTextEdit | None = None
        if kind == "unblind":
            self.reason = QPlainTextEdit()
            self.reason.setObjectName("unblindReason")
            self.reason.setAccessibleName(_t("reason", language))
            self.reason.setTabChangesFocus(True)
            self.reason.setFixedHeight(self.reason.fontMetrics().height() * 4)
            form.addRow(_t("reason", language), self.reason)
        self.password = QLineEdit()
        self.password.setObjectName(f"{kind}Password")
        self.password.setAccessibleName(_t("password", language))
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(_t("password", language), self.password)
        self.message = QLabel("")
        self.message.setObjectName(f"{kind}Message")
        self.message.setWordWrap(True)
        form.addRow(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.setObjectName(f"{kind}Buttons")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_t(kind, language))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_t("cancel", language))
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.setMinimumWidth(480)
        (self.reason or self.password).setFocus()

    def answer(self) -> Credentials:
        """Read once: the password field is cleared as it is handed over."""
        password = self.password.text()
        self.password.clear()
        reason = self.reason.toPlainText().strip() if self.reason is not None else None
        return Credentials(password, reason)

    def _ok(self) -> None:
        if self.reason is not None and not self.reason.toPlainText().strip():
            self.show_error(_t("no_reason", self.language))
            self.reason.setFocus()
            return
        if not self.password.text():
            self.show_error(_t("no_password", self.language))
            return
        if self.attempt is None:
            self.accept()
            return
        self.working(_t("working", self.language))
        self.attempt(self.answer(), self._attempted)


class ArmDialog(QDialog):
    """The arm of one subject after an emergency unblinding: held by this window only, never stored."""

    def __init__(self, subject: str, arm: str, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("armDialog")
        self.setWindowTitle(_t("arm_title", language).format(subject=subject))
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # the arm goes with the window
        layout = QVBoxLayout(self)
        intro = QLabel(_t("arm_intro", language).format(subject=subject))
        layout.addWidget(intro)
        self.arm = QLabel(arm)
        self.arm.setObjectName("unblindedArm")
        self.arm.setTextFormat(Qt.TextFormat.PlainText)
        self.arm.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)  # not copied to a clipboard
        self.arm.setStyleSheet("font-size: 16pt; font-weight: 600; padding: 8px 0;")
        layout.addWidget(self.arm)
        note = QLabel(_t("arm_note", language))
        note.setWordWrap(True)
        note.setStyleSheet("color: #5f6368")
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(_t("close", language))
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)
