"""Sync in the client: background sync with backoff, "Sync now", a status indicator, progress.

The network runs on its own serial worker, never on the store worker the forms use: a slow or
absent server must not hold up a nurse's save. The sync engine itself (`sync.client`) is Qt-free;
this only schedules it and shows what it says.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from ..sync.client import Backoff, SyncClient, SyncOutcome, SyncProgress, SyncStatus
from .texts import translator
from .worker import StoreWorker

if TYPE_CHECKING:
    from ..store.api import Store

CONTEXT = "Sync"
TEXTS = {
    "online": QT_TRANSLATE_NOOP("Sync", "● Online"),
    "offline": QT_TRANSLATE_NOOP("Sync", "○ Offline"),
    "never": QT_TRANSLATE_NOOP("Sync", "○ Not synced yet"),
    "not_enrolled": QT_TRANSLATE_NOOP("Sync", "○ Not connected to a server"),
    "last": QT_TRANSLATE_NOOP("Sync", "last sync {time}"),
    "waiting": QT_TRANSLATE_NOOP("Sync", "{n} changes waiting"),
    "waiting_one": QT_TRANSLATE_NOOP("Sync", "1 change waiting"),
    "conflicts": QT_TRANSLATE_NOOP("Sync", "{n} conflict(s)"),
    "syncing": QT_TRANSLATE_NOOP("Sync", "Syncing…"),
    "push": QT_TRANSLATE_NOOP("Sync", "Syncing: sent {done} of {total}"),
    "pull": QT_TRANSLATE_NOOP("Sync", "Syncing: received {done}"),
    "wait_sentence": QT_TRANSLATE_NOOP("Sync", "{n} changes wait on this laptop and go out at the next connection."),
    "wait_sentence_one": QT_TRANSLATE_NOOP(
        "Sync", "1 change waits on this laptop and goes out at the next connection."
    ),
    "nothing_waits": QT_TRANSLATE_NOOP("Sync", "Nothing is waiting to be sent."),
    "why_not_enrolled": QT_TRANSLATE_NOOP(
        "Sync",
        "This laptop is not connected to the study server yet. {waiting}",
    ),
    "why_offline": QT_TRANSLATE_NOOP("Sync", "Not connected to the server. {waiting} Nothing is lost."),
    "why_refused": QT_TRANSLATE_NOOP(
        "Sync", "The server did not accept this sync; the changes stay on this laptop. {waiting} Reason: {error}"
    ),
    "why_ok": QT_TRANSLATE_NOOP("Sync", "Synced: {pushed} changes sent, {pulled} received."),
    "why_rejected": QT_TRANSLATE_NOOP(
        "Sync", "The server refused {n} changes; they are kept on this laptop for the data manager to review."
    ),
}
_t = translator(CONTEXT, TEXTS)


def waiting_text(n: int, language: str) -> str:
    return _t("waiting_one", language) if n == 1 else _t("waiting", language).format(n=n)


def explain(status: SyncStatus | None, outcome: SyncOutcome | None, language: str) -> str:
    """The sync state in plain words for a nurse: why nothing went out, and that nothing is lost."""
    waiting_n = outcome.waiting if outcome is not None else status.waiting if status is not None else 0
    if waiting_n == 0:
        waiting = _t("nothing_waits", language)
    elif waiting_n == 1:
        waiting = _t("wait_sentence_one", language)
    else:
        waiting = _t("wait_sentence", language).format(n=waiting_n)
    if status is not None and not status.enrolled:
        return _t("why_not_enrolled", language).format(waiting=waiting)
    if outcome is None:
        return waiting
    if outcome.error is not None:
        if is_unreachable(outcome.error):
            return _t("why_offline", language).format(waiting=waiting)
        return _t("why_refused", language).format(waiting=waiting, error=outcome.error)
    text = _t("why_ok", language).format(pushed=outcome.pushed, pulled=outcome.pulled)
    if outcome.rejected:
        text += " " + _t("why_rejected", language).format(n=len(outcome.rejected))
    return text if waiting_n == 0 else f"{text} {waiting}"


def is_unreachable(error: str) -> bool:
    """The transport's wording for no answer (the laptop is offline or the server is down)."""
    return "no answer from the server" in error


def local_time(at_utc: str) -> str:
    """A UTC time as the laptop's local time with its offset (times are stored in UTC)."""
    try:
        moment = dt.datetime.fromisoformat(at_utc.replace("Z", "+00:00"))
    except ValueError:
        return at_utc
    return moment.astimezone().strftime("%Y-%m-%d %H:%M %z")


class SyncController(QObject):
    sig_status = Signal(object)
    """A `SyncStatus` read from the store (changes waiting, conflicts, last sync)."""

    sig_outcome = Signal(object)
    """The `SyncOutcome` of each finished sync, background or asked for."""

    sig_progress = Signal(object)
    """`SyncProgress` while a sync runs (emitted from the sync thread, delivered on the UI thread)."""

    sig_running = Signal(bool)

    def __init__(
        self,
        store: Store,
        store_worker: StoreWorker,
        parent: QObject | None = None,
        backoff: Backoff | None = None,
        automatic: bool = True,
    ) -> None:
        super().__init__(parent)
        self.store, self.store_worker = store, store_worker
        self.network = StoreWorker(self)  # its own thread: a sync never queues in front of a save
        self.backoff = backoff or Backoff()
        self.automatic = automatic
        self.running = False
        self.last: SyncOutcome | None = None
        self.status: SyncStatus | None = None
        self._cancel = threading.Event()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.sync_now)

    def start(self) -> None:
        """Read the status, and sync at once if this laptop is enrolled (then on the backoff's schedule)."""
        self.refresh_status(then_sync=self.automatic)

    def set_store(self, store: Store) -> None:
        self.store = store
        self.refresh_status()

    def refresh_status(self, then_sync: bool = False) -> None:
        client = SyncClient(self.store)

        def show(status: SyncStatus) -> None:
            self.status = status
            self.sig_status.emit(status)
            if then_sync and status.enrolled:
                self.sync_now()

        self.store_worker.submit(client.status, show)

    def sync_now(self) -> None:
        if self.running:
            return
        self._timer.stop()
        self.running = True
        self.sig_running.emit(True)
        client = SyncClient(self.store)
        self.network.submit(
            lambda: client.run(progress=self.sig_progress.emit, cancel=self._cancel), self._done, self._failed
        )

    def _done(self, outcome: SyncOutcome) -> None:
        self.running = False
        self.last = outcome
        self.sig_running.emit(False)
        self.sig_outcome.emit(outcome)
        self.refresh_status()
        enrolled = self.status is None or self.status.enrolled
        if self.automatic and enrolled and not self._cancel.is_set():
            self._timer.start(int(self.backoff.next_delay(outcome) * 1000))

    def _failed(self, message: str) -> None:
        """A refusal from the store during a sync (e.g. a password change is due): shown like a sync error."""
        self._done(SyncOutcome(0, 0, 0, self.status.waiting if self.status else 0, error=message))

    @property
    def next_attempt_ms(self) -> int:
        """Milliseconds to the next background sync (-1 when none is scheduled)."""
        return self._timer.remainingTime() if self._timer.isActive() else -1

    def shutdown(self) -> None:
        """On close: stop scheduling and cancel a running sync at its next step (nothing acknowledged is lost)."""
        self._cancel.set()
        self._timer.stop()
        self.network.shutdown()


class SyncIndicator(QLabel):
    """The status bar's line: online or offline, last sync, changes waiting, conflicts."""

    def __init__(self, controller: SyncController, language: str = "en", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self.controller, self.language = controller, language
        controller.sig_status.connect(lambda _status: self.render())
        controller.sig_outcome.connect(lambda _outcome: self.render())
        controller.sig_running.connect(lambda _running: self.render())
        controller.sig_progress.connect(self._progress)
        self.render()

    def set_language(self, language: str) -> None:
        self.language = language
        self.render()

    def _progress(self, progress: SyncProgress) -> None:
        key = "push" if progress.phase == "push" else "pull"
        self.setText(_t(key, self.language).format(done=progress.done, total=progress.total))

    def render(self) -> None:
        status, last, t = self.controller.status, self.controller.last, self.language
        if status is not None and not status.enrolled:
            self.setText(f"{_t('not_enrolled', t)} · {waiting_text(status.waiting, t)}")
            self.setStyleSheet("color: #495057")
            self.setToolTip(explain(status, None, t))
            return
        if self.controller.running:
            head = _t("syncing", t)
        elif last is None:
            head = _t("never", t)
        else:
            head = _t("online", t) if last.error is None else _t("offline", t)
        parts = [head]
        if status is not None and status.last_sync_utc:
            parts.append(_t("last", t).format(time=local_time(status.last_sync_utc)))
        if status is not None:
            parts.append(waiting_text(status.waiting, t))
            if status.conflicts:
                parts.append(_t("conflicts", t).format(n=status.conflicts))
        self.setText(" · ".join(parts))
        colour = "#842029" if (status and status.conflicts) or (last and last.error) else "#0f5132" if last else ""
        self.setStyleSheet(f"color: {colour}" if colour else "")
        details = ([last.error] if last and last.error else []) + (list(last.warnings) if last else [])
        details += list(last.rejected) if last else []
        self.setToolTip("\n".join([explain(status, last, t), *details]))
