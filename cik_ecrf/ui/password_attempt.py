"""What every dialog that proves a password over the network or the store shares: it stays open while the
attempt runs, and on a refusal it says why, clears the password and lets the user try again."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit

WORKING = "color: #5f6368"
REFUSED = "color: #b00020; font-weight: bold"


class PasswordAttempt(QDialog):
    """Base of the signing and randomization dialogs; subclasses build `buttons`, `message`, `password`."""

    buttons: QDialogButtonBox
    message: QLabel
    password: QLineEdit

    def working(self, text: str) -> None:
        """The attempt has started: no second click until it answers."""
        self.buttons.setEnabled(False)
        self.message.setStyleSheet(WORKING)
        self.message.setText(text)

    def _attempted(self, problem: str | None) -> None:
        if problem is None:
            self.accept()
            return
        self.show_error(problem)

    def show_error(self, text: str) -> None:
        """Stay open, say why in the dialog, and let the user try again."""
        self.buttons.setEnabled(True)
        self.message.setStyleSheet(REFUSED)
        self.message.setText(text)
        self.password.clear()
        self.password.setFocus()
