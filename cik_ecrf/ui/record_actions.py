"""Sign and Print for a form, a visit or a casebook: the dialogs, and the store work on the worker.

The signing session follows 21 CFR 11.200: the first signing after a sign-in (or after the idle
lock) asks for the user id and the password; later signings in the same session ask for the
password alone. The store proves the password every time; this only decides what to ask.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from .printing import PrintFailed, spool_pdf
from .sign_dialog import SignDialog, SignInput
from .texts import translator
from .worker import StoreWorker

if TYPE_CHECKING:
    from ..store.api import Store

CONTEXT = "RecordActions"
TEXTS = {
    "print_title": QT_TRANSLATE_NOOP("RecordActions", "Print"),
    "print_question": QT_TRANSLATE_NOOP("RecordActions", "Send {what} to a printer, or save it as a PDF file?"),
    "to_printer": QT_TRANSLATE_NOOP("RecordActions", "Print…"),
    "to_file": QT_TRANSLATE_NOOP("RecordActions", "Save as PDF…"),
    "saved": QT_TRANSLATE_NOOP("RecordActions", "Saved {path}"),
    "sent": QT_TRANSLATE_NOOP("RecordActions", "Sent to {printer}"),
    "signed": QT_TRANSLATE_NOOP("RecordActions", "Signed: {what} — {meaning}"),
    "making": QT_TRANSLATE_NOOP("RecordActions", "Making the PDF…"),
    "signing": QT_TRANSLATE_NOOP("RecordActions", "Signing…"),
}
_t = translator(CONTEXT, TEXTS)


@dataclasses.dataclass(frozen=True)
class RecordScope:
    """What an action applies to: a subject's casebook, one visit, or one form of a visit."""

    subject: str
    visit: str | None = None
    form: str | None = None

    def describe(self) -> str:
        return " / ".join(x for x in (self.subject, self.visit, self.form) if x)


@dataclasses.dataclass(frozen=True)
class PrintChoice:
    """Where a PDF goes: `printer` (a name from the print dialog, with copies) or `path` (a file)."""

    printer: str | None = None
    copies: int = 1
    path: Path | None = None


class SigningSession:
    """Whether the signer's user id has been proven in this session (reset by the idle lock and a user switch)."""

    def __init__(self) -> None:
        self.user_proven = False

    def reset(self) -> None:
        self.user_proven = False


def ask_signature_dialog(
    parent: QWidget, language: str, scope: RecordScope, username: str, ask_user: bool
) -> SignInput | None:
    dialog = SignDialog(language, scope.describe(), username, ask_user, parent)
    return dialog.answer() if dialog.exec() else None


def choose_output_dialog(parent: QWidget, language: str, scope: RecordScope) -> PrintChoice | None:
    """Printer (QtPrintSupport's dialog picks which one) or a PDF file."""
    box = QMessageBox(parent)
    box.setObjectName("printChoice")
    box.setWindowTitle(_t("print_title", language))
    box.setText(_t("print_question", language).format(what=scope.describe()))
    printer = box.addButton(_t("to_printer", language), QMessageBox.ButtonRole.AcceptRole)
    to_file = box.addButton(_t("to_file", language), QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if box.clickedButton() is printer:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        device = QPrinter()
        dialog = QPrintDialog(device, parent)
        if dialog.exec() and device.printerName():
            return PrintChoice(printer=device.printerName(), copies=max(1, device.copyCount()))
        return None
    if box.clickedButton() is to_file:
        suggested = str(Path.home() / (scope.describe().replace(" / ", "_") + ".pdf"))
        path, _ = QFileDialog.getSaveFileName(parent, _t("to_file", language), suggested, "PDF (*.pdf)")
        return PrintChoice(path=Path(path)) if path else None
    return None


def write_pdf(path: Path, data: bytes) -> None:
    """Written beside, then renamed: a half-written PDF never carries the record's name."""
    temporary = path.with_name(path.name + ".part")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class RecordActions(QObject):
    sig_signed = Signal(object)
    """The store's `SignResult` after a signature was recorded."""

    sig_printed = Signal(str)
    """Where the PDF went (a file path or a printer name)."""

    sig_refused = Signal(str)
    """The store's (or the print system's) refusal, as shown to the user."""

    sig_progress = Signal(str)
    """A line for the page's notice while the worker signs or makes the PDF."""

    def __init__(
        self,
        parent: QWidget,
        store: Callable[[], Store],
        worker: StoreWorker,
        signing: SigningSession,
        language: str = "en",
        ask_signature: Callable[[RecordScope, str, bool], SignInput | None] | None = None,
        choose_output: Callable[[RecordScope], PrintChoice | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.widget, self.store, self.worker, self.signing, self.language = parent, store, worker, signing, language
        self.ask_signature = ask_signature or (
            lambda scope, user, ask_user: ask_signature_dialog(parent, self.language, scope, user, ask_user)
        )
        self.choose_output = choose_output or (lambda scope: choose_output_dialog(parent, self.language, scope))

    def sign(self, scope: RecordScope) -> None:
        store = self.store()
        answer = self.ask_signature(scope, store.actor.username, not self.signing.user_proven)
        if answer is None:
            return
        username = answer.username if answer.username is not None else store.actor.username
        self.sig_progress.emit(_t("signing", self.language))

        def done(result: object) -> None:
            self.signing.user_proven = True
            self.sig_progress.emit(
                _t("signed", self.language).format(
                    what=scope.describe(), meaning=result.signature.meaning_text(self.language)
                )
            )  # type: ignore[attr-defined]
            self.sig_signed.emit(result)

        self.worker.submit(
            lambda: store.sign(
                scope.subject,
                scope.visit,
                scope.form,
                meaning=answer.meaning,
                username=username,
                password=answer.password,
            ),
            done,
            self._refused,
        )

    def print_(self, scope: RecordScope) -> None:
        choice = self.choose_output(scope)
        if choice is None:
            return
        store = self.store()
        self.sig_progress.emit(_t("making", self.language))

        def make_and_send() -> str:
            from ..pdf import record_pdf

            data = record_pdf(store, scope.subject, scope.visit, scope.form, audit_appendix=True)
            if choice.path is not None:
                try:
                    write_pdf(choice.path, data)
                except OSError as exc:  # a folder that is not there or not writable: the user's to fix
                    raise PrintFailed(f"{choice.path}: cannot be written ({exc.strerror})") from None
                return _t("saved", self.language).format(path=choice.path)
            assert choice.printer is not None
            spool_pdf(data, choice.printer, choice.copies)
            return _t("sent", self.language).format(printer=choice.printer)

        def done(where: str) -> None:
            self.sig_progress.emit(where)
            self.sig_printed.emit(where)

        self.worker.submit(make_and_send, done, self._refused)

    def _refused(self, message: str) -> None:
        self.sig_progress.emit(message)
        self.sig_refused.emit(message)
