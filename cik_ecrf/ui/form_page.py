"""A form of one subject at one visit: loaded and saved through the background worker.

Saving asks what the store will insist on, before it refuses: confirmation of the soft checks the
nurse has not yet confirmed, and a reason when a completed form changes. Right-click on a field
shows its audit history.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QPoint, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QInputDialog, QLabel, QMenu, QMessageBox, QPushButton, QVBoxLayout, QWidget

from ..rules import SubjectData
from ..store.api import Store
from ..store.entry import SaveRequest, SaveResult
from ..store.signatures import SIGNER_ROLES, SignatureRecord, SignResult, needs_resigning
from .conflicts import candidate_text
from .form_view import FormView
from .record_actions import RecordActions, RecordScope, SigningSession
from .subject_view import status_text
from .texts import translator
from .worker import StoreWorker

CONTEXT = "FormPage"
TEXTS = {
    "loading": QT_TRANSLATE_NOOP("FormPage", "Loading…"),
    "saved": QT_TRANSLATE_NOOP("FormPage", "Saved"),
    "reason": QT_TRANSLATE_NOOP("FormPage", "This form is complete. Reason for the change:"),
    "confirm": QT_TRANSLATE_NOOP("FormPage", "Confirm these values outside the expected range?"),
    "history": QT_TRANSLATE_NOOP("FormPage", "History"),
    "no_history": QT_TRANSLATE_NOOP("FormPage", "No changes recorded yet."),
    "sign": QT_TRANSLATE_NOOP("FormPage", "Sign…"),
    "print": QT_TRANSLATE_NOOP("FormPage", "Print…"),
    "only_investigators": QT_TRANSLATE_NOOP(
        "FormPage", "Only investigators sign; a form is signed once it is complete."
    ),
    "signed_by": QT_TRANSLATE_NOOP("FormPage", "✔ Signed by {name} ({role}) on {at}: {meaning}"),
    "conflict": QT_TRANSLATE_NOOP("FormPage", "⚠ {field} is in conflict: {values}. Resolve it under Conflicts."),
    "resign": QT_TRANSLATE_NOOP("FormPage", "⚠ A change cleared this form's signature: it needs signing again."),
}


_t = translator(CONTEXT, TEXTS)


def ask_reason_dialog(parent: QWidget, language: str) -> str | None:
    text, ok = QInputDialog.getText(parent, _t("reason", language), _t("reason", language))
    return text.strip() if ok and text.strip() else None


def confirm_dialog(parent: QWidget, lines: list[str], language: str) -> bool:
    answer = QMessageBox.question(parent, _t("confirm", language), _t("confirm", language) + "\n\n" + "\n".join(lines))
    return answer == QMessageBox.StandardButton.Yes


class FormPage(QWidget):
    sig_saved = Signal(object)
    """The store's `SaveResult` after a save went through."""

    sig_refused = Signal(list)
    """The store's refusal lines (`FIELD: message`), also shown on the page."""

    def __init__(
        self,
        store: Store,
        worker: StoreWorker,
        subject: str,
        visit: str,
        form: str,
        instance: str | None = None,
        language: str = "en",
        ask_reason: Callable[[], str | None] | None = None,
        confirm: Callable[[list[str]], bool] | None = None,
        parent: QWidget | None = None,
        signing: SigningSession | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(f"page_{visit}_{form}")
        self.store, self.worker = store, worker
        self.subject, self.visit, self.form, self.instance = subject, visit, form, instance
        self.language = language
        self.ask_reason = ask_reason or (lambda: ask_reason_dialog(self, language))
        self.confirm = confirm or (lambda lines: confirm_dialog(self, lines, language))
        self.status: str | None = None
        self.view: FormView | None = None
        self.signatures: list[SignatureRecord] = []  # those covering this form
        self._all_signatures: list[SignatureRecord] = []
        self.layout_ = QVBoxLayout(self)
        top = QHBoxLayout()
        self.notice = QLabel(_t("loading", language))
        self.notice.setObjectName("pageNotice")
        self.notice.setWordWrap(True)
        top.addWidget(self.notice, 1)
        self.actions = RecordActions(self, lambda: self.store, worker, signing or SigningSession(), language)
        self.actions.sig_signed.connect(self._signed)
        self.actions.sig_progress.connect(self._show_progress)
        self.sign_button = QPushButton(_t("sign", language))
        self.sign_button.setObjectName("sign")
        self.sign_button.clicked.connect(lambda: self.actions.sign(self._scope()))
        self.print_button = QPushButton(_t("print", language))
        self.print_button.setObjectName("print")
        self.print_button.clicked.connect(lambda: self.actions.print_(self._scope()))
        for button in (self.sign_button, self.print_button):
            button.setEnabled(False)  # until the form is loaded
            top.addWidget(button)
        self.layout_.addLayout(top)
        self.signature_info = QLabel("")
        self.signature_info.setObjectName("signatureInfo")
        self.signature_info.setWordWrap(True)
        self.signature_info.setVisible(False)
        self.layout_.addWidget(self.signature_info)
        self.conflict_info = QLabel("")
        self.conflict_info.setObjectName("conflictInfo")
        self.conflict_info.setWordWrap(True)
        self.conflict_info.setStyleSheet("color: #842029")
        self.conflict_info.setVisible(False)
        self.layout_.addWidget(self.conflict_info)
        self.worker.submit(self._load, self._loaded, self._show_refusal)

    # ------------------------------------------------------------------ loading (worker thread)

    def _load(self) -> tuple[dict[str, Any], SubjectData, str | None, str | None, list[SignatureRecord], list[Any]]:
        _, rows = self.store.subject_values(self.subject)
        forms: dict[tuple[str, str], list[dict[str, Any]]] = {}
        own: dict[str, Any] = {}
        status = instance = None
        for row in rows:
            forms.setdefault((row["visit"], row["form"]), []).append(row["values"])
            mine = row["instance"] == self.instance or (
                self.instance is None and not self.store.study.forms[self.form].repeating
            )
            if row["visit"] == self.visit and row["form"] == self.form and mine:
                own, status, instance = row["values"], row["status"], row["instance"]
        conflicts = [c for c in self.store.conflicts() if c.instance_id == instance] if instance else []
        return own, SubjectData.of(forms), status, instance, self.store.signatures(self.subject), conflicts

    def _loaded(
        self, result: tuple[dict[str, Any], SubjectData, str | None, str | None, list[SignatureRecord], list[Any]]
    ) -> None:
        own, self.subject_data, self.status, self.instance, signatures, conflicts = result
        self._show_conflicts(conflicts)
        self._show_view(own)
        self.notice.setText(self._status_text())
        self._show_signatures(signatures)
        self._enable_actions()

    def _show_view(self, values: dict[str, Any]) -> None:
        old, self.view = (
            self.view,
            FormView(self.store.rules, self.form, self.visit, values, self.subject_data, language=self.language),
        )
        self.view.sig_save_requested.connect(self.save)
        for field_id, widget in self.view.widgets.items():
            widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            widget.customContextMenuRequested.connect(lambda pos, fid=field_id: self._context_menu(fid, pos))
        if old is None:
            self.layout_.addWidget(self.view, 1)
        else:
            self.layout_.replaceWidget(old, self.view)
            old.hide()  # at once: deleteLater waits for the event loop
            old.deleteLater()

    def set_language(self, language: str) -> None:
        """The same form in another language, with what has been typed (saved or not) kept."""
        self.language = language
        self.ask_reason = lambda: ask_reason_dialog(self, language)  # tests' own callbacks are not kept
        self.confirm = lambda lines: confirm_dialog(self, lines, language)
        self.actions.language = language
        self.sign_button.setText(_t("sign", language))
        self.print_button.setText(_t("print", language))
        if self.view is not None:
            self._show_view(self.view.values())
            self.notice.setText(self._status_text())
            self._show_signatures(self._all_signatures)
            self._enable_actions()

    # ------------------------------------------------------------------ signatures and printing

    def _scope(self) -> RecordScope:
        return RecordScope(self.subject, self.visit, self.form)

    def _enable_actions(self) -> None:
        may_sign = self.store.actor.role in SIGNER_ROLES
        self.sign_button.setEnabled(may_sign and self.status in ("complete", "signed"))
        self.sign_button.setToolTip("" if may_sign else _t("only_investigators", self.language))
        self.print_button.setEnabled(self.instance is not None)

    def _show_signatures(self, signatures: list[SignatureRecord]) -> None:
        """Active signatures on this form with their manifestation; a warning when a change cleared one."""
        self._all_signatures = signatures
        self.signatures = [s for s in signatures if self.instance in s.instances]
        lines = [
            _t("signed_by", self.language).format(
                name=s.full_name, role=s.role, at=s.signed_at(), meaning=s.meaning_text(self.language)
            )
            for s in self.signatures
            if s.active
        ]
        if self.instance in needs_resigning(signatures):
            lines.append(_t("resign", self.language))
        self.signature_info.setText("\n".join(lines))
        self.signature_info.setVisible(bool(lines))

    def _show_conflicts(self, conflicts: list[Any]) -> None:
        """Fields two laptops changed differently: both values, until someone resolves them with a reason."""
        lines = [
            _t("conflict", self.language).format(
                field=c.field_id, values=" / ".join(candidate_text(v) for v in c.candidates)
            )
            for c in conflicts
        ]
        self.conflict_info.setText("\n".join(lines))
        self.conflict_info.setVisible(bool(lines))

    def _signed(self, result: SignResult) -> None:
        if any(ref.instance == self.instance for ref in result.signed):
            self.status = "signed"
        self.notice.setText(self._status_text())
        self._enable_actions()
        self.worker.submit(lambda: self.store.signatures(self.subject), self._show_signatures)

    def _show_progress(self, text: str) -> None:
        self.notice.setText(f"{text} · {self._status_text()}")

    def _status_text(self) -> str:
        visit = self.store.study.visit(self.visit).label.get(self.language)
        return f"{self.subject} · {visit} · {status_text(self.status or 'not started', self.language)}"

    # ------------------------------------------------------------------ saving

    def save(self, values: dict[str, Any], draft: bool) -> None:
        assert self.view is not None
        evaluation = self.view.session.snapshot()
        confirm_warnings = False
        if evaluation.warnings:
            lines = [f"{self.view._label(w.field)}: {w.message.get(self.language)}" for w in evaluation.warnings]
            if not self.confirm(lines):
                return
            confirm_warnings = True
        reason = None
        if self.status in ("complete", "signed"):
            reason = self.ask_reason()
            if reason is None:
                return
        request = SaveRequest(
            self.subject, self.visit, self.form, values, draft, self.instance, reason, confirm_warnings
        )
        self.worker.submit(lambda: self.store.save(request), self._saved, self._show_refusal)

    def _saved(self, result: SaveResult) -> None:
        self.instance, self.status = result.instance_id, result.status
        self.notice.setText(f"{_t('saved', self.language)} · {self._status_text()}")
        self._enable_actions()
        self.worker.submit(
            lambda: self.store.signatures(self.subject), self._show_signatures
        )  # a change clears signatures
        self.sig_saved.emit(result)

    def _show_refusal(self, text: str) -> None:
        lines = text.splitlines()
        self.notice.setText("\n".join(lines))
        self.notice.setStyleSheet("color: #b00020")
        self.sig_refused.emit(lines)

    # ------------------------------------------------------------------ audit history

    def _context_menu(self, field_id: str, pos: QPoint) -> None:
        assert self.view is not None
        menu = QMenu(self)
        action = menu.addAction(_t("history", self.language))
        action.triggered.connect(lambda: self.show_history(field_id))
        menu.popup(self.view.widgets[field_id].mapToGlobal(pos))

    def history_lines(self, field_id: str) -> list[str]:
        """Runs on the worker: the field's audit events, oldest first, as lines a person reads."""
        lines = []
        for e in self.store.audit_events(self.subject):
            if e.field_id == field_id and e.instance_id == self.instance:
                old = json.loads(e.old_json) if e.old_json else "—"
                new = json.loads(e.new_json) if e.new_json else "—"
                reason = f" ({e.reason})" if e.reason else ""
                lines.append(
                    f"{e.at_utc[:16].replace('T', ' ')} UTC{e.utc_offset_min / 60:+.0f} {e.username} ({e.role}): {old} → {new}{reason}"
                )
        return lines

    def show_history(self, field_id: str, on_ready: Callable[[list[str]], None] | None = None) -> None:
        def present(lines: list[str]) -> None:
            if on_ready is not None:
                on_ready(lines)
                return
            QMessageBox.information(
                self, _t("history", self.language), "\n".join(lines) or _t("no_history", self.language)
            )

        self.worker.submit(lambda: self.history_lines(field_id), present, self._show_refusal)
