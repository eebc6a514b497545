"""A form of one subject at one visit: loaded and saved through the background worker.

Saving asks what the store will insist on, before it refuses: confirmation of the soft checks the
nurse has not yet confirmed, a reason when a completed form changes, and, before a signed form is
changed, whether to clear its signatures. Nothing typed is dropped silently: leaving a form with
unsaved input asks first, and when another user signs in at the idle lock, the input is put aside
for its author (see `drafts`). History opens from the button, Ctrl+H or a right-click.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QEventLoop, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..definitions.server_forms import server_set
from ..rules import Clock, SubjectData
from ..store.api import Store
from ..store.entry import SaveRequest, SaveResult
from ..store.signatures import SIGNER_ROLES, SignatureRecord, SignResult
from .drafts import HELD, DraftKey
from .field_history import confirmed_keys
from .form_dialogs import (
    ask_leave_dialog,
    ask_reason_dialog,
    confirm_dialog,
    confirm_unsign_dialog,
)
from .form_history import FieldHistory  # the audit history: button, Ctrl+H, right-click
from .form_monitoring import attach as attach_monitoring
from .form_notices import FormNotices  # the lines above the form: signatures, conflicts, attention
from .form_upgrade import attach as attach_upgrade
from .form_view import FormView
from .randomize_panel import RandomizePanel
from .record_actions import RecordActions, RecordScope, SigningSession
from .subject_view import status_text
from .texts import translator
from .worker import StoreWorker

CONTEXT = "FormPage"
TEXTS = {
    "loading": QT_TRANSLATE_NOOP("FormPage", "Loading…"),
    "saved": QT_TRANSLATE_NOOP("FormPage", "Saved"),
    "unsaved": QT_TRANSLATE_NOOP("FormPage", "Unsaved changes"),
    "unchanged": QT_TRANSLATE_NOOP("FormPage", "Nothing has changed since the last save; nothing to save."),
    "no_reason": QT_TRANSLATE_NOOP(
        "FormPage", "Not saved: a completed form is changed only with a reason. Please give one."
    ),
    "restored": QT_TRANSLATE_NOOP("FormPage", "Your unsaved input from before the lock is back."),
    "sign": QT_TRANSLATE_NOOP("FormPage", "Sign…"),
    "print": QT_TRANSLATE_NOOP("FormPage", "Print…"),
    "only_investigators": QT_TRANSLATE_NOOP(
        "FormPage", "Only investigators sign; a form is signed once it is complete."
    ),
    "server_set": QT_TRANSLATE_NOOP(
        "FormPage", "Nothing to save: the central server sets this form's values when the subject is randomized."
    ),
}
_t = translator(CONTEXT, TEXTS)
Loaded = tuple[dict[str, Any], SubjectData, str | None, str | None, list[SignatureRecord], list[Any], frozenset[str]]


class FormPage(FieldHistory, FormNotices, QWidget):
    sig_saved = Signal(object)
    """The store's `SaveResult` after a save went through."""

    sig_refused = Signal(list)
    """The store's refusal lines (`FIELD: message`), also shown on the page."""

    sig_back_requested = Signal()
    """Esc or Alt+Left: the window goes back (asking first, through `confirm_leave`, if input is unsaved)."""

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
        ask_leave: Callable[[], str] | None = None,
        confirm_unsign: Callable[[int], bool] | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(f"page_{visit}_{form}")
        self._store = store
        self.worker = worker
        self.subject, self.visit, self.form, self.instance = subject, visit, form, instance
        self.language = language
        self.clock = clock
        self.ask_reason = ask_reason or (lambda: ask_reason_dialog(self, self.language))
        self.confirm = confirm or (lambda lines: confirm_dialog(self, lines, self.language))
        self.ask_leave = ask_leave or (lambda: ask_leave_dialog(self, self.language))
        self.confirm_unsign = confirm_unsign or (lambda forms: confirm_unsign_dialog(self, forms, self.language))
        self.status: str | None = None
        self.view: FormView | None = None
        self.saved_values: dict[str, Any] = {}
        self.subject_data = SubjectData()
        self.confirmed: frozenset[str] = frozenset()
        self.signatures: list[SignatureRecord] = []  # those covering this form
        self._all_signatures: list[SignatureRecord] = []
        self._message = ""  # a one-off line (saved, refused, restored) shown before the status
        self.layout_ = QVBoxLayout(self)
        top = QHBoxLayout()
        self.notice = QLabel(_t("loading", language))
        self.notice.setObjectName("pageNotice")
        self.notice.setWordWrap(True)
        top.addWidget(self.notice, 1)
        self.actions = RecordActions(self, lambda: self.store, worker, signing or SigningSession(), language)
        self.actions.sig_signed.connect(self._signed)
        self.actions.sig_progress.connect(self._show_progress)
        self._add_history_button(language)  # form_history
        self.sign_button = QPushButton(_t("sign", language))
        self.sign_button.setObjectName("sign")
        self.sign_button.clicked.connect(lambda: self.actions.sign(self._scope()))
        self.print_button = QPushButton(_t("print", language))
        self.print_button.setObjectName("print")
        self.print_button.clicked.connect(lambda: self.actions.print_(self._scope()))
        for button in (self.history_button, self.sign_button, self.print_button):
            button.setEnabled(False)  # until the form is loaded
            top.addWidget(button)
        self.layout_.addLayout(top)
        self.info: dict[str, QLabel] = {}
        for name, colour in (("signatureInfo", ""), ("conflictInfo", "#842029"), ("attentionInfo", "#8a5a00")):
            label = QLabel("")
            label.setObjectName(name)
            label.setWordWrap(True)
            if colour:
                label.setStyleSheet(f"color: {colour}")
            label.setVisible(False)
            self.layout_.addWidget(label)
            self.info[name] = label
        self.signature_info, self.conflict_info, self.attention_info = (
            self.info["signatureInfo"],
            self.info["conflictInfo"],
            self.info["attentionInfo"],
        )
        self.randomize_panel: RandomizePanel | None = None  # the randomization form's controls (server-set values)
        self.monitoring = attach_monitoring(self)  # query badges, SDV, lock banner (form_monitoring)
        self.upgrade = attach_upgrade(self)  # study versions: the instance's own rules, the move to the newest
        self._shortcuts()
        self.worker.submit(self._load, self._loaded, self._show_refusal)

    def _shortcuts(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        keys: list[tuple[QKeySequence | str, Callable[[], Any]]] = [
            (QKeySequence.StandardKey.Save, self.save_now),
            ("Ctrl+Return", self.complete_now),
            ("Ctrl+Enter", self.complete_now),
            ("Esc", self.sig_back_requested.emit),
            ("Alt+Left", self.sig_back_requested.emit),
            ("Ctrl+H", self.history_of_focused),
        ]
        self.shortcuts = []
        for key, slot in keys:
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)
            self.shortcuts.append(shortcut)

    # ------------------------------------------------------------------ the user behind the page

    @property
    def store(self) -> Store:
        return self._store

    @store.setter
    def store(self, store: Store) -> None:
        """Set by the window after a sign-in at the lock; another user gets a clean form, never this one's input."""
        previous, self._store = self._store, store
        if previous is store:
            return
        if previous.actor.username != store.actor.username and self.view is not None:
            if self.view.is_dirty():
                HELD.keep(self._draft_key(previous.actor.username), self.view.entries())
            self.view.setEnabled(False)
            self.worker.submit(self._load, self._loaded, self._show_refusal)  # a clean form, as saved
        self._enable_actions()
        if self.randomize_panel is not None:
            self.randomize_panel.refresh()  # Randomize and Unblind are an investigator's

    def _draft_key(self, username: str | None = None) -> DraftKey:
        repeating = self.store.study.forms[self.form].repeating
        return DraftKey(
            str(self.store.directory),
            username or self.store.actor.username,
            self.subject,
            self.visit,
            self.form,
            (self.instance or "") if repeating else "",
        )

    # ------------------------------------------------------------------ loading (worker thread)

    def _load(self) -> Loaded:
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
        confirmed = confirmed_keys(self.store.audit_events(self.subject), instance) if instance else frozenset()
        self.monitoring.prefetch(instance)  # in the same job: the form and its badges come together
        self.upgrade.prefetch(instance)  # the instance's own study version
        return own, SubjectData.of(forms), status, instance, self.store.signatures(self.subject), conflicts, confirmed

    def _loaded(self, result: Loaded) -> None:
        own, self.subject_data, self.status, self.instance, signatures, conflicts, self.confirmed = result
        self.saved_values = own
        self._show_conflicts(conflicts)
        self.upgrade.take()
        self._show_view(own)
        self.upgrade.show()
        self._show_randomize_panel()
        held = HELD.take(self._draft_key())
        if held is not None and self.view is not None:
            self.view.restore(held)
            self._message = _t("restored", self.language)
        self._refresh_notice()
        self._show_signatures(signatures)
        self._show_attention()
        self._enable_actions()
        if self.view is not None and self.isVisible():
            self.view.focus_first()
        self.monitoring.show_prefetched()

    def _show_randomize_panel(self) -> None:
        """A form whose values only the server sets (randomization) gets its panel instead of the save buttons."""
        if self.randomize_panel is not None or self.view is None or not server_set(self.view.form):
            return
        panel = RandomizePanel(lambda: self.store, self.worker, self.subject, self.language, self)
        panel.sig_changed.connect(lambda: self.worker.submit(self._load, self._loaded, self._show_refusal))
        panel.sig_message.connect(self._say)
        self.layout_.insertWidget(self.layout_.indexOf(self.view), panel)
        self.randomize_panel = panel
        self._watch_sync()

    def _watch_sync(self) -> None:
        """The window's sync says whether the server answered last time: the panel says so before a click."""
        sync = getattr(self.window(), "sync", None)
        panel = self.randomize_panel
        if panel is None or sync is None or not hasattr(sync, "sig_outcome") or getattr(self, "_sync_watched", False):
            return
        self._sync_watched = True

        def seen(outcome: Any) -> None:
            if outcome is not None:
                panel.set_online(outcome.error is None or "no answer from the server" not in outcome.error)

        seen(sync.last)
        sync.sig_outcome.connect(seen)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._watch_sync()  # in the window by now
        if self.view is not None and not self.view.isAncestorOf(QApplication.focusWidget()):
            self.view.focus_first()

    def _show_view(self, values: dict[str, Any], entries: dict[str, Any] | None = None) -> None:
        old, self.view = (
            self.view,
            FormView(
                self.upgrade.rules(),  # the instance's own version
                self.form,
                self.visit,
                values,
                self.subject_data,
                self.clock,
                language=self.language,
                role=self.store.actor.role,
                confirmed=self.confirmed,
            ),
        )
        if entries is not None:
            self.view.restore(entries)
        self.monitoring.decorate(self.view)
        self.view.sig_save_requested.connect(self.save)
        self.view.sig_edited.connect(lambda _field: self._refresh_notice())
        self._offer_history(self.view)
        if old is None:
            self.layout_.addWidget(self.view, 1)
        else:
            self.layout_.replaceWidget(old, self.view)
            old.hide()  # at once: deleteLater waits for the event loop
            old.deleteLater()

    def set_language(self, language: str) -> None:
        """The same form in another language, with what has been typed (saved or not) kept exactly as typed."""
        self.language = language
        self.actions.language = language
        self.sign_button.setText(_t("sign", language))
        self.print_button.setText(_t("print", language))
        self._name_history_button(language)
        if self.randomize_panel is not None:
            self.randomize_panel.set_language(language)
        self.monitoring.set_language(language)
        if self.view is not None:
            entries, self.confirmed = self.view.entries(), frozenset(self.view.confirmed)
            self._show_view(self.saved_values, entries)
            self._refresh_notice()
            self._show_signatures(self._all_signatures)
            self._show_attention()
            self._enable_actions()
        self.upgrade.set_language(language)

    # ------------------------------------------------------------------ unsaved input

    def has_unsaved_changes(self) -> bool:
        return self.view is not None and self.view.is_dirty()

    def confirm_leave(self) -> bool:
        """True when the page may go: nothing unsaved, or the user saved it or chose to discard it."""
        if not self.has_unsaved_changes():
            return True
        choice = self.ask_leave()
        if choice == "discard":
            HELD.drop(self._draft_key())
            assert self.view is not None
            self.view.mark_clean()
            return True
        if choice != "save":
            return False
        return self._save_and_wait()

    def _save_and_wait(self) -> bool:
        """Save as Ctrl+S would and wait for the store's answer (the page is about to go)."""
        loop = QEventLoop()
        outcome: list[bool] = []

        def finished(ok: bool) -> None:
            outcome.append(ok)
            loop.quit()

        on_saved, on_refused = (lambda _r: finished(True)), (lambda _l: finished(False))
        self.sig_saved.connect(on_saved)
        self.sig_refused.connect(on_refused)
        try:
            if self.save_now():
                loop.exec()
        finally:
            self.sig_saved.disconnect(on_saved)
            self.sig_refused.disconnect(on_refused)
        return bool(outcome and outcome[0])

    def _refresh_notice(self) -> None:
        parts = [self._message] if self._message else []
        if self.has_unsaved_changes():
            parts.append(_t("unsaved", self.language))
        parts.append(self._status_text())
        self.notice.setText(" · ".join(parts))
        self.notice.setStyleSheet("color: #8a5a00" if self.has_unsaved_changes() else "")

    # ------------------------------------------------------------------ signatures and printing

    def _scope(self) -> RecordScope:
        return RecordScope(self.subject, self.visit, self.form)

    def _enable_actions(self) -> None:
        may_sign = self.store.actor.role in SIGNER_ROLES
        self.sign_button.setEnabled(may_sign and self.status in ("complete", "signed"))
        self.sign_button.setToolTip("" if may_sign else _t("only_investigators", self.language))
        self.print_button.setEnabled(self.instance is not None)
        self.history_button.setEnabled(self.view is not None)

    def _signed(self, result: SignResult) -> None:
        if any(ref.instance == self.instance for ref in result.signed):
            self.status = "signed"
        self._refresh_notice()
        self._enable_actions()
        self.worker.submit(lambda: self.store.signatures(self.subject), self._show_signatures)

    def _show_progress(self, text: str) -> None:
        self.notice.setText(f"{text} · {self._status_text()}")

    def _status_text(self) -> str:
        visit = self.store.study.visit(self.visit).label.get(self.language)
        return f"{self.subject} · {visit} · {status_text(self.status or 'not started', self.language)}"

    def _signed_forms(self) -> int:
        """How many forms lose a signature if this one changes (a visit signature covers all its forms)."""
        covering = [s for s in self._all_signatures if s.active and self.instance in s.instances]
        return len({i for s in covering for i in s.instances})

    # ------------------------------------------------------------------ saving

    def save_now(self) -> bool:
        """Ctrl+S: a completed form is saved complete (checked first); any other as a draft."""
        if self.view is None:
            return False
        if self.view.server_set:
            self._say(_t("server_set", self.language))
            return False
        if self.status in ("complete", "signed"):
            if self.view.show_problems():
                return False
            return self.save(self.view.values(), False)
        return self.save(self.view.values(), True)

    def complete_now(self) -> None:
        if self.view is not None:
            self.view.request_complete()

    def save(self, values: dict[str, Any], draft: bool) -> bool:
        """Ask what is needed, then queue the save; False when nothing was queued (and the page says why)."""
        assert self.view is not None
        if self.view.server_set:
            self._say(_t("server_set", self.language))
            return False
        if self.status in ("complete", "signed") and not self.view.is_dirty():
            self._say(_t("unchanged", self.language))
            return False
        unsign = self._signed_forms()
        if unsign and not self.confirm_unsign(unsign):
            return False
        evaluation = self.view.session.snapshot()
        confirm_warnings = False
        unconfirmed = [w for w in evaluation.warnings if f"{w.field}:{w.code}" not in self.view.confirmed]
        if unconfirmed:
            lines = [f"{self.view._label(w.field)}: {w.message.get(self.language)}" for w in unconfirmed]
            if not self.confirm(lines):
                return False
        confirm_warnings = bool(evaluation.warnings)
        reason = None
        if self.status in ("complete", "signed"):
            reason = self.ask_reason()
            if reason is None:
                return False
            if not reason.strip():
                self._say(_t("no_reason", self.language), error=True)
                return False
        request = SaveRequest(
            self.subject, self.visit, self.form, values, draft, self.instance, reason, confirm_warnings
        )
        entries = self.view.entries()
        if confirm_warnings:
            self.view.confirm_warnings()
        self.worker.submit(
            lambda: self.store.save(request), lambda result: self._saved(result, values, entries), self._show_refusal
        )
        return True

    def _say(self, text: str, error: bool = False) -> None:
        self._message = text
        self._refresh_notice()
        if error:
            self.notice.setStyleSheet("color: #b00020")

    def _saved(self, result: SaveResult, values: dict[str, Any], entries: dict[str, Any]) -> None:
        self.instance, self.status = result.instance_id, result.status
        self.saved_values = values
        if self.view is not None:
            self.view.mark_clean(entries)
        self._message = _t("saved", self.language)
        self._refresh_notice()
        self._show_attention()
        self._enable_actions()
        self.monitoring.refresh()  # a change drops a verification, modifies a closed query
        self.worker.submit(
            lambda: self.store.signatures(self.subject), self._show_signatures
        )  # a change clears signatures
        self.sig_saved.emit(result)

    def _show_refusal(self, text: str) -> None:
        lines = text.splitlines()
        self.notice.setText("\n".join(lines))
        self.notice.setStyleSheet("color: #b00020")
        self.sig_refused.emit(lines)
