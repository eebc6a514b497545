"""The randomization form's own controls: what randomization is, the allocation, Randomize and Emergency unblind.

The randomization form holds only values the central server sets (RANDNO, PRODID, RANDDTC), so it is
never saved by hand: the form page shows this panel instead of "Save draft" and "Mark complete". It
says in words why a button cannot be used (not eligible, eligibility not confirmed, not an investigator,
no connection) rather than leaving a greyed button to guess at.

The arm never passes through here: the allocation shown is the server's number, blinded product code and
time. An emergency unblinding returns the arm of one subject, which goes straight into `ArmDialog` and
nowhere else. Network calls run on a thread of their own (a daemon thread per call, like the sync's own
worker, never the store worker the forms save on, and never the UI thread); the answer comes back to the
UI thread through an argument-less signal and a queue, as `worker.StoreWorker` does.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.errors import UserError
from ..core.roles import RANDOMIZER_ROLES
from .date_edit import local_text
from .randomize_dialogs import ArmDialog, Credentials, CredentialsDialog
from .texts import translator
from .worker import StoreWorker

if TYPE_CHECKING:
    from ..store.api import Store


CONTEXT = "Randomization"
TEXTS = {
    "explain": QT_TRANSLATE_NOOP(
        "Randomization",
        "The randomization number, the blinded product code and the time are set by the central server when "
        "an investigator randomizes the subject, online. They are never typed in, and the treatment arm is "
        "never shown.",
    ),
    "not_yet": QT_TRANSLATE_NOOP("Randomization", "Not randomized yet."),
    "allocated": QT_TRANSLATE_NOOP("Randomization", "Randomized: number {randno} · product code {prodid} · {randdtc}"),
    "unblinded": QT_TRANSLATE_NOOP(
        "Randomization", "This subject was unblinded in an emergency (the arm is not kept on this laptop)."
    ),
    "voided": QT_TRANSLATE_NOOP(
        "Randomization",
        "This randomization was marked as made in error by the data manager. A new randomization needs the "
        "data manager's decision on the server.",
    ),
    "randomize": QT_TRANSLATE_NOOP("Randomization", "Randomize…"),
    "unblind": QT_TRANSLATE_NOOP("Randomization", "Emergency unblind…"),
    "loading": QT_TRANSLATE_NOOP("Randomization", "Reading the subject…"),
    "why_role": QT_TRANSLATE_NOOP("Randomization", "Only an investigator randomizes."),
    "why_role_unblind": QT_TRANSLATE_NOOP("Randomization", "Only an investigator can unblind a subject."),
    "why_not_eligible": QT_TRANSLATE_NOOP(
        "Randomization", "Not eligible: the eligibility assessment must say the subject is eligible (Y)."
    ),
    "why_not_confirmed": QT_TRANSLATE_NOOP(
        "Randomization", "Eligibility is not confirmed: the investigator's confirmation (IECONF) must be Yes."
    ),
    "why_offline": QT_TRANSLATE_NOOP(
        "Randomization", "Randomization needs a connection to the study server; everything else works offline."
    ),
    "why_offline_unblind": QT_TRANSLATE_NOOP(
        "Randomization",
        "Unblinding needs a connection to the study server. Without one, the pharmacy's sealed code-break "
        "sheet is used.",
    ),
    "why_done": QT_TRANSLATE_NOOP("Randomization", "Already randomized: a subject is randomized once."),
    "why_not_randomized": QT_TRANSLATE_NOOP("Randomization", "Not randomized: there is nothing to unblind."),
    "done": QT_TRANSLATE_NOOP("Randomization", "Randomized by the central server."),
    "unblind_done": QT_TRANSLATE_NOOP("Randomization", "Unblinding recorded by the central server."),
    "no_answer": QT_TRANSLATE_NOOP(
        "Randomization", "Randomization needs a connection: the study server did not answer. Nothing was changed."
    ),
}
_t = translator(CONTEXT, TEXTS)


@dataclass(frozen=True)
class Facts:
    """What the panel decides from, read on the store worker in one go."""

    subject_id: str
    allocation: Any | None  # store.randomization.Allocation (subject_id, randno, prodid, randdtc, unblinded, voided)
    eligible: str | None  # the eligibility form's derived ELIGIBLE: "Y", "N" or None (not evaluable)
    confirmed: str | None  # IECONF, the investigator's confirmation
    enrolled: bool  # this laptop has a study server to ask


def read_facts(store: Store, number: str) -> Facts:
    """Runs on the store worker."""
    subject, rows = store.subject_values(number)
    confirmed = next(
        (r["values"].get("IECONF") for r in rows if (r["visit"], r["form"]) == ("screening", "eligibility")), None
    )
    eligible = store.eligibility(number).eligible
    allocation = store.randomization.allocation(subject.id)
    return Facts(subject.id, allocation, eligible, confirmed, bool(store.sync_status().enrolled))


def active(facts: Facts | None) -> Any | None:
    """The allocation in force (one marked as made in error is not)."""
    allocation = facts.allocation if facts is not None else None
    return allocation if allocation is not None and not allocation.voided else None


def randomize_blocker(facts: Facts, role: str, online: bool | None) -> str | None:
    """Why Randomize cannot be used now (a TEXTS key), or None when it can; `online` None = not known yet."""
    if active(facts) is not None:
        return "why_done"
    # (a voided one: randomizing again is the server's to allow, on the data manager's recorded decision)
    if role not in RANDOMIZER_ROLES:
        return "why_role"
    if facts.eligible != "Y":
        return "why_not_eligible"
    if facts.confirmed != "Y":
        return "why_not_confirmed"
    if not facts.enrolled or online is False:
        return "why_offline"
    return None


def unblind_blocker(facts: Facts, role: str, online: bool | None) -> str | None:
    if active(facts) is None:
        return "why_not_randomized"
    if role not in RANDOMIZER_ROLES:
        return "why_role_unblind"
    if not facts.enrolled or online is False:
        return "why_offline_unblind"
    return None


class _Call(QObject):
    """One network call on a daemon thread; its outcome delivered on the UI thread (see the module doc)."""

    sig_finished = Signal()
    running: set[_Call] = set()  # kept alive until delivered

    def __init__(
        self, call: Callable[[], Any], on_done: Callable[[Any], None], on_refused: Callable[[UserError], None]
    ) -> None:
        super().__init__()
        self.call, self.on_done, self.on_refused = call, on_done, on_refused
        self.outcome: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.sig_finished.connect(self._deliver)

    def start(self) -> None:
        _Call.running.add(self)
        threading.Thread(target=self._run, name="randomization-call", daemon=True).start()

    def _run(self) -> None:
        try:
            self.outcome.put(("done", self.call()))
        except UserError as exc:
            self.outcome.put(("refused", exc))
        except Exception:  # noqa: BLE001 - a bug reaches the user as one line, never kills the client
            self.outcome.put(("refused", UserError(traceback.format_exc().strip().splitlines()[-1])))
        self.sig_finished.emit()

    def _deliver(self) -> None:
        kind, value = self.outcome.get()
        _Call.running.discard(self)
        (self.on_done if kind == "done" else self.on_refused)(value)


def is_unreachable(message: str) -> bool:
    """The transport's words for a server that did not answer (offline, or the server is down)."""
    lowered = message.lower()
    return any(p in lowered for p in ("no answer from the server", "needs a connection", "offline", "unreachable"))


class RandomizePanel(QWidget):
    sig_changed = Signal()
    """The server randomized or unblinded the subject: the form page reads the form again."""

    sig_message = Signal(str)
    """A line for the page's notice (what happened, or why not)."""

    def __init__(
        self,
        store: Callable[[], Store],
        worker: StoreWorker,
        subject: str,
        language: str = "en",
        parent: QWidget | None = None,
        ask: Callable[[str, Callable[[Credentials, Callable[[str | None], None]], None]], bool] | None = None,
        show_arm: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("randomizePanel")
        self._store, self.worker, self.subject, self.language = store, worker, subject, language
        self.ask = ask or self._ask_dialog
        self.show_arm = show_arm or (lambda arm: ArmDialog(self.subject, arm, self.language, self).open())
        self.facts: Facts | None = None
        self.online: bool | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        self.explain = QLabel()
        self.explain.setObjectName("randomizeExplain")
        self.explain.setWordWrap(True)
        layout.addWidget(self.explain)
        self.state = QLabel()
        self.state.setObjectName("randomizeState")
        self.state.setWordWrap(True)
        self.state.setStyleSheet("font-weight: 600")
        layout.addWidget(self.state)
        self.marks: dict[str, QLabel] = {}
        for name, colour in (("unblinded", "#842029"), ("voided", "#8a5a00")):
            mark = QLabel()
            mark.setObjectName(f"{name}Mark")
            mark.setWordWrap(True)
            mark.setStyleSheet(f"color: {colour}; font-weight: 600")
            mark.setVisible(False)
            layout.addWidget(mark)
            self.marks[name] = mark
        grid = QGridLayout()
        self.randomize_button = QPushButton()
        self.randomize_button.setObjectName("randomize")
        self.randomize_button.clicked.connect(self.randomize)
        self.randomize_why = QLabel()
        self.randomize_why.setObjectName("randomizeWhy")
        self.unblind_button = QPushButton()
        self.unblind_button.setObjectName("unblind")
        self.unblind_button.clicked.connect(self.unblind)
        self.unblind_why = QLabel()
        self.unblind_why.setObjectName("unblindWhy")
        for row, (button, why) in enumerate(
            ((self.randomize_button, self.randomize_why), (self.unblind_button, self.unblind_why))
        ):
            why.setWordWrap(True)
            why.setStyleSheet("color: #5f6368")
            button.setEnabled(False)
            grid.addWidget(button, row, 0)
            grid.addWidget(why, row, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)
        self.set_language(language)
        self.refresh()

    @property
    def store(self) -> Store:
        return self._store()

    # ------------------------------------------------------------------ state

    def refresh(self) -> None:
        store, number = self.store, self.subject
        self.state.setText(_t("loading", self.language))
        self.worker.submit(lambda: read_facts(store, number), self.show_facts, self.sig_message.emit)

    def set_online(self, online: bool | None) -> None:
        """What the last sync found (True reached the server, False no answer, None not known)."""
        self.online = online
        self._render()

    def set_language(self, language: str) -> None:
        self.language = language
        self.explain.setText(_t("explain", language))
        self.randomize_button.setText(_t("randomize", language))
        self.unblind_button.setText(_t("unblind", language))
        self._render()

    def show_facts(self, facts: Facts) -> None:
        self.facts = facts
        self._render()

    def _render(self) -> None:
        facts, t = self.facts, self.language
        if facts is None:
            return
        allocation = facts.allocation
        if active(facts) is None:
            self.state.setText(_t("not_yet", t))
        else:
            self.state.setText(
                _t("allocated", t).format(
                    randno=allocation.randno, prodid=allocation.prodid, randdtc=local_text(allocation.randdtc)
                )
            )
        self.marks["unblinded"].setText(_t("unblinded", t))
        self.marks["unblinded"].setVisible(bool(allocation is not None and allocation.unblinded))
        self.marks["voided"].setText(_t("voided", t))
        self.marks["voided"].setVisible(bool(allocation is not None and allocation.voided))
        role = self.store.actor.role
        for button, why, blocker in (
            (self.randomize_button, self.randomize_why, randomize_blocker(facts, role, self.online)),
            (self.unblind_button, self.unblind_why, unblind_blocker(facts, role, self.online)),
        ):
            button.setEnabled(blocker is None)
            text = _t(blocker, t) if blocker else ""
            why.setText(text)
            button.setToolTip(text)
        self.unblind_button.setVisible(active(facts) is not None)
        self.unblind_why.setVisible(active(facts) is not None)

    # ------------------------------------------------------------------ actions

    def _ask_dialog(self, kind: str, attempt: Callable[[Credentials, Callable[[str | None], None]], None]) -> bool:
        dialog = CredentialsDialog(kind, self.subject, self.language, attempt, self)
        return bool(dialog.exec())

    def _username(self) -> str:
        return self.store.actor.username

    def randomize(self) -> None:
        """Ask the password, then ask the server (off the UI thread); the dialog stays open until it answers."""
        store, number, username = self.store, self.subject, self._username()

        def attempt(credentials: Credentials, answer: Callable[[str | None], None]) -> None:
            def call() -> Any:
                from ..sync.randomize import randomize

                return randomize(store, number, username, credentials.password)

            _Call(call, lambda _allocation: self._randomized(answer), lambda e: answer(self._refusal(e))).start()

        self.ask("randomize", attempt)

    def _randomized(self, answer: Callable[[str | None], None]) -> None:
        answer(None)
        self.sig_message.emit(_t("done", self.language))
        self.refresh()
        self.sig_changed.emit()

    def unblind(self) -> None:
        store, number, username = self.store, self.subject, self._username()

        def attempt(credentials: Credentials, answer: Callable[[str | None], None]) -> None:
            def call() -> Any:
                from ..sync.randomize import unblind

                return unblind(store, number, username, credentials.password, credentials.reason or "")

            _Call(call, lambda arm: self._unblinded(arm, answer), lambda e: answer(self._refusal(e))).start()

        self.ask("unblind", attempt)

    def _unblinded(self, arm: str, answer: Callable[[str | None], None]) -> None:
        from ..definitions.randomization import arm_label

        answer(None)
        self.show_arm(arm_label(self.store.study, arm, self.language))
        del arm  # held by the dialog alone
        self.sig_message.emit(_t("unblind_done", self.language))
        self.refresh()
        self.sig_changed.emit()

    def _refusal(self, error: UserError) -> str:
        """The server's one line, in the user's language when it sent both (`RandomizationError.zh`)."""
        message = (str(error).splitlines() or [type(error).__name__])[0]
        if is_unreachable(message):
            self.set_online(False)
            return _t("no_answer", self.language)
        zh = getattr(error, "zh", None)
        return zh if isinstance(zh, str) and zh and self.language.startswith("zh") else message
