"""Sign and Print for a form, a visit or a casebook: the dialogs, and the store work on the worker.

The signing session follows 21 CFR 11.200: the first signing after a sign-in (or after the idle
lock) asks for the user id and the password; later signings in the same session ask for the
password alone. The store proves the password every time; this only decides what to ask. The
signature dialog stays open until the store has signed, so a mistyped password is retried there.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ..store.signatures import SIGNER_ROLES
from .field_history import role_text
from .printing import PrintFailed, spool_pdf
from .sign_dialog import SignDialog, SignInput
from .texts import translator
from .worker import StoreWorker

if TYPE_CHECKING:
    from ..definitions.spec import StudyDefinition
    from ..store.api import Store

CONTEXT = "RecordActions"
TEXTS = {
    "print_title": QT_TRANSLATE_NOOP("RecordActions", "Print"),
    "print_question": QT_TRANSLATE_NOOP("RecordActions", "Send {what} to a printer, or save it as a PDF file?"),
    "to_printer": QT_TRANSLATE_NOOP("RecordActions", "Print…"),
    "to_file": QT_TRANSLATE_NOOP("RecordActions", "Save as PDF…"),
    "saved": QT_TRANSLATE_NOOP("RecordActions", "Saved {path}"),
    "saved_title": QT_TRANSLATE_NOOP("RecordActions", "PDF saved"),
    "saved_long": QT_TRANSLATE_NOOP("RecordActions", "The PDF of {what} was saved as:\n{path}"),
    "sent": QT_TRANSLATE_NOOP("RecordActions", "Sent to {printer}"),
    "signed": QT_TRANSLATE_NOOP("RecordActions", "Signed: {what} — {meaning}"),
    "making": QT_TRANSLATE_NOOP("RecordActions", "Making the PDF…"),
    "signing": QT_TRANSLATE_NOOP("RecordActions", "Signing…"),
    "not_signer": QT_TRANSLATE_NOOP(
        "RecordActions", "A {role} cannot sign: only investigators sign. Nothing was signed."
    ),
    "wrong_password": QT_TRANSLATE_NOOP("RecordActions", "Wrong password: nothing was signed. Try again."),
    "no_printers": QT_TRANSLATE_NOOP(
        "RecordActions",
        "No printer is set up on this laptop. Save the record as a PDF file instead, and print it elsewhere.",
    ),
    "file_name": QT_TRANSLATE_NOOP("RecordActions", "File name:"),
    "file_type": QT_TRANSLATE_NOOP("RecordActions", "File type:"),
    "look_in": QT_TRANSLATE_NOOP("RecordActions", "Look in:"),
    "save": QT_TRANSLATE_NOOP("RecordActions", "Save"),
    "cancel": QT_TRANSLATE_NOOP("RecordActions", "Cancel"),
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

    def title(self, study: StudyDefinition | None, language: str) -> str:
        """`DEMO-D1-0002 / Screening / Vital signs`: names a person reads, in their language."""
        if study is None:
            return self.describe()
        parts = [self.subject]
        if self.visit:
            try:
                parts.append(study.visit(self.visit).label.get(language))
            except KeyError:
                parts.append(self.visit)
        if self.form:
            form = study.forms.get(self.form)
            parts.append(form.definition.title.get(language) if form else self.form)
        return " / ".join(parts)


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


def ask_signature_dialog(parent: QWidget, language: str, what: str, username: str, ask_user: bool) -> SignInput | None:
    dialog = SignDialog(language, what, username, ask_user, parent)
    return dialog.answer() if dialog.exec() else None


def save_file_dialog(parent: QWidget, language: str, suggested: str) -> str:
    """Qt's own file dialog with our labels, so it speaks the user's language whatever the desktop's."""
    dialog = QFileDialog(parent, _t("to_file", language), suggested, "PDF (*.pdf)")
    dialog.setObjectName("pdfFileDialog")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("pdf")
    for label, key in (
        (QFileDialog.DialogLabel.FileName, "file_name"),
        (QFileDialog.DialogLabel.FileType, "file_type"),
        (QFileDialog.DialogLabel.LookIn, "look_in"),
        (QFileDialog.DialogLabel.Accept, "save"),
        (QFileDialog.DialogLabel.Reject, "cancel"),
    ):
        dialog.setLabelText(label, _t(key, language))
    dialog.selectFile(suggested)
    return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else ""


def choose_output_dialog(parent: QWidget, language: str, scope: RecordScope, what: str) -> PrintChoice | None:
    """Printer (QtPrintSupport's dialog picks which one) or a PDF file; no printer at all says so and offers the file."""
    box = QMessageBox(parent)
    box.setObjectName("printChoice")
    box.setWindowTitle(_t("print_title", language))
    box.setText(_t("print_question", language).format(what=what))
    printer = box.addButton(_t("to_printer", language), QMessageBox.ButtonRole.AcceptRole)
    to_file = box.addButton(_t("to_file", language), QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    suggested = str(Path.home() / (scope.describe().replace(" / ", "_") + ".pdf"))
    if box.clickedButton() is printer:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter, QPrinterInfo

        if not QPrinterInfo.availablePrinters():
            QMessageBox.information(parent, _t("print_title", language), _t("no_printers", language))
            path = save_file_dialog(parent, language, suggested)
            return PrintChoice(path=Path(path)) if path else None
        device = QPrinter()
        dialog = QPrintDialog(device, parent)
        if not dialog.exec():
            return None
        if device.outputFileName():  # "Print to file" in the print dialog: the file is what was asked for
            return PrintChoice(path=Path(device.outputFileName()))
        if device.printerName():
            return PrintChoice(printer=device.printerName(), copies=max(1, device.copyCount()))
        QMessageBox.information(parent, _t("print_title", language), _t("no_printers", language))
        return None
    if box.clickedButton() is to_file:
        path = save_file_dialog(parent, language, suggested)
        return PrintChoice(path=Path(path)) if path else None
    return None


def tell_saved(parent: QWidget, language: str, what: str, path: Path) -> None:
    """Non-blocking: the nurse sees where the file went without another click to continue."""
    box = QMessageBox(
        QMessageBox.Icon.Information, _t("saved_title", language), "", QMessageBox.StandardButton.Ok, parent
    )
    box.setObjectName("pdfSaved")
    box.setText(_t("saved_long", language).format(what=what, path=path))
    box.open()


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
        tell: Callable[[RecordScope, Path], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.widget, self.store, self.worker, self.signing, self.language = parent, store, worker, signing, language
        self.ask_signature = ask_signature  # None: the signature dialog, kept open until signed
        self.choose_output = choose_output or (
            lambda scope: choose_output_dialog(parent, self.language, scope, self.what(scope))
        )
        self.tell = tell or (lambda scope, path: tell_saved(parent, self.language, self.what(scope), path))
        self.dialog: SignDialog | None = None

    def what(self, scope: RecordScope) -> str:
        try:
            study = self.store().study
        except Exception:  # a closed store still names the record by its ids
            study = None
        return scope.title(study, self.language)

    def sign(self, scope: RecordScope) -> None:
        store = self.store()
        if store.actor.role not in SIGNER_ROLES:
            self._refused(_t("not_signer", self.language).format(role=role_text(store.actor.role, self.language)))
            return
        ask_user = not self.signing.user_proven
        if self.ask_signature is None:
            self.dialog = SignDialog(
                self.language,
                self.what(scope),
                store.actor.username,
                ask_user,
                self.widget,
                attempt=lambda answer, finished: self._attempt(store, scope, answer, finished),
            )
            self.dialog.open()
            return
        answer = self.ask_signature(scope, store.actor.username, ask_user)
        if answer is not None:
            self._attempt(store, scope, answer, lambda _problem: None)

    def _attempt(
        self, store: Store, scope: RecordScope, answer: SignInput, finished: Callable[[str | None], None]
    ) -> None:
        username = answer.username if answer.username is not None else store.actor.username
        self.sig_progress.emit(_t("signing", self.language))

        def done(result: Any) -> None:
            self.signing.user_proven = True
            self.sig_progress.emit(
                _t("signed", self.language).format(
                    what=self.what(scope), meaning=result.signature.meaning_text(self.language)
                )
            )
            finished(None)
            self.sig_signed.emit(result)

        def refused(message: str) -> None:
            shown = _t("wrong_password", self.language) if "wrong password" in message else message
            finished(shown)
            self._refused(message if self.language == "en" else shown)

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
            refused,
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
            if choice.path is not None:
                self.tell(scope, choice.path)

        self.worker.submit(make_and_send, done, self._refused)

    def _refused(self, message: str) -> None:
        self.sig_progress.emit(message)
        self.sig_refused.emit(message)
