"""First run: no store in the data directory yet, so set one up instead of showing an error.

A site code, an optional device code (the store draws one otherwise), and the first administrator.
The store itself checks everything (password strength, site code, user name) inside `Store.init` on
the background worker, and its refusals are shown in the dialog.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import QDialog, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from ..store.files import DB_FILE, KEYRING_FILE
from .login import ERROR_COLOUR, password_edit, plain_button, refusal_text
from .texts import translator
from .worker import StoreWorker

if TYPE_CHECKING:
    from ..store.api import StoreInfo

CONTEXT = "FirstRun"
TEXTS = {
    "title": QT_TRANSLATE_NOOP("FirstRun", "Set up CIK eCRF"),
    "intro": QT_TRANSLATE_NOOP(
        "FirstRun",
        "No study data on this computer yet ({directory}). Set it up for your site; you become its first administrator.",
    ),
    "site": QT_TRANSLATE_NOOP("FirstRun", "Site code"),
    "device": QT_TRANSLATE_NOOP("FirstRun", "Device code (optional)"),
    "admin": QT_TRANSLATE_NOOP("FirstRun", "Administrator user name"),
    "full_name": QT_TRANSLATE_NOOP("FirstRun", "Full name"),
    "password": QT_TRANSLATE_NOOP("FirstRun", "Password"),
    "again": QT_TRANSLATE_NOOP("FirstRun", "Password again"),
    "create": QT_TRANSLATE_NOOP("FirstRun", "Create"),
    "busy": QT_TRANSLATE_NOOP("FirstRun", "Creating the encrypted store…"),
    "missing": QT_TRANSLATE_NOOP("FirstRun", "Fill in the site code, user name and password."),
    "mismatch": QT_TRANSLATE_NOOP("FirstRun", "The two passwords differ."),
    "bug": QT_TRANSLATE_NOOP("FirstRun", "Setup failed unexpectedly; the error was reported."),
}


_t = translator(CONTEXT, TEXTS)


def store_exists(directory: Path) -> bool:
    """Whether `directory` already holds a store (or the remains of one): then log in, never set up."""
    return (Path(directory) / KEYRING_FILE).exists() or (Path(directory) / DB_FILE).exists()


def _create_store(
    directory: Path, site: str, admin: str, password: str, full_name: str | None, device: str | None
) -> StoreInfo:
    """Runs on the worker, which also pays for importing the store."""
    from ..store.api import Store

    return Store.init(directory, site, admin, password, full_name, device)


class FirstRunDialog(QDialog):
    sig_store_created = Signal(str)
    """The directory in which the new store (with its first administrator) was created."""

    sig_refused = Signal(str)
    """The store refused the setup (weak password, bad site code...); the text shown to the user."""

    def __init__(
        self, directory: Path, worker: StoreWorker, language: str = "en", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.directory = Path(directory)
        self.worker = worker
        self.language = language
        self.info: StoreInfo | None = None
        self._busy = False
        self.setObjectName("firstRunDialog")
        self.setWindowTitle(_t("title", language))
        self._build()
        worker.sig_bug.connect(self._on_bug)

    def _build(self) -> None:
        t = self.language
        layout = QVBoxLayout(self)
        intro = QLabel(_t("intro", t).format(directory=self.directory))
        intro.setObjectName("setupIntro")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.site = self._line("setupSite", _t("site", t), form)
        self.site.setMaxLength(16)
        self.device = self._line("setupDevice", _t("device", t), form)
        self.device.setMaxLength(8)
        self.admin = self._line("setupAdmin", _t("admin", t), form)
        self.full_name = self._line("setupFullName", _t("full_name", t), form)
        self.password = password_edit("setupPassword")
        self.again = password_edit("setupPasswordAgain")
        for edit, key in ((self.password, "password"), (self.again, "again")):
            edit.setAccessibleName(_t(key, t))
            form.addRow(_t(key, t), edit)
        layout.addLayout(form)
        self.create_button = plain_button(_t("create", t), "setupCreate")
        self.create_button.clicked.connect(self.create)
        layout.addWidget(self.create_button)
        self.message = QLabel("")
        self.message.setObjectName("setupMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        edits = [self.site, self.device, self.admin, self.full_name, self.password, self.again]
        for first, second in itertools.pairwise(edits):
            first.returnPressed.connect(second.setFocus)
            QWidget.setTabOrder(first, second)
        self.again.returnPressed.connect(self.create)
        self.site.setFocus()

    def _line(self, name: str, label: str, form: QFormLayout) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(label)
        form.addRow(label, edit)
        return edit

    def _say(self, text: str, refusal: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR}" if refusal else "")
        if refusal:
            self.sig_refused.emit(text)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for widget in (
            self.site,
            self.device,
            self.admin,
            self.full_name,
            self.password,
            self.again,
            self.create_button,
        ):
            widget.setEnabled(not busy)
        if busy:
            self._say(_t("busy", self.language))

    def create(self) -> None:
        if self._busy:
            return
        site = self.site.text().strip().upper()
        device = self.device.text().strip().upper() or None
        admin = self.admin.text().strip().lower()
        full_name = self.full_name.text().strip() or None
        password, again = self.password.text(), self.again.text()
        if not site or not admin or not password:
            self._say(_t("missing", self.language), refusal=True)
            return
        if password != again:
            self.password.clear()
            self.again.clear()
            self.password.setFocus()
            self._say(_t("mismatch", self.language), refusal=True)
            return
        self._set_busy(True)
        directory = self.directory
        self.worker.submit(
            lambda: _create_store(directory, site, admin, password, full_name, device), self._created, self._refused
        )

    def _created(self, info: StoreInfo) -> None:
        self.info = info
        self.password.clear()
        self.again.clear()
        self._set_busy(False)
        self._say("")
        self.sig_store_created.emit(str(self.directory))
        self.accept()

    def _refused(self, message: str) -> None:
        self._set_busy(False)
        if "password" in message:  # to be typed again anyway; other refusals keep what was typed
            self.password.clear()
            self.again.clear()
            self.password.setFocus()
        self._say(refusal_text(message, self.language), refusal=True)

    def _on_bug(self, _: str) -> None:
        if self._busy:
            self._set_busy(False)
            self._say(_t("bug", self.language), refusal=True)
