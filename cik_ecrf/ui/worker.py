"""One serial background worker for all store work, so the UI thread never touches the database.

Like Anki's task manager: database calls run one at a time, in order, on a single thread (SQLite
wants one writer anyway), and each result comes back to the UI thread through a signal. A caller
that waits longer than `PROGRESS_AFTER_MS` gets `sig_busy(True)` so the window can show progress;
short work shows nothing.
"""

from __future__ import annotations

import itertools
import queue
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from ..store.errors import StoreError

PROGRESS_AFTER_MS = 500


@dataclass(frozen=True)
class Outcome:
    """What a job ended with: a value, a user-facing refusal, or a bug (with its traceback)."""

    job: int
    value: Any = None
    refusal: str | None = None
    bug: str | None = None


class _Runner(QObject):
    """Lives on the worker thread. Jobs and outcomes travel through thread-safe queues; only
    argument-less signals cross threads (PySide6 mishandles Python objects in queued signals)."""

    sig_finished = Signal()
    """An outcome is waiting in `outcomes` (delivered on the UI thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: queue.SimpleQueue[tuple[int, Callable[[], Any]]] = queue.SimpleQueue()
        self.outcomes: queue.SimpleQueue[Outcome] = queue.SimpleQueue()

    @Slot()
    def run(self) -> None:
        job, call = self.jobs.get()
        try:
            outcome = Outcome(job, value=call())
        except StoreError as exc:
            outcome = Outcome(job, refusal=str(exc))
        except Exception:  # noqa: BLE001 - a bug must reach the UI as a report, not kill the thread
            outcome = Outcome(job, bug=traceback.format_exc())
        self.outcomes.put(outcome)
        self.sig_finished.emit()


class StoreWorker(QObject):
    sig_busy = Signal(bool)
    """True when work has been running longer than PROGRESS_AFTER_MS; False when the queue is empty."""

    sig_bug = Signal(str)
    """A traceback from a job that failed for a reason other than a user-facing refusal."""

    _sig_submit = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("store-worker")
        self._runner = _Runner()
        self._runner.moveToThread(self._thread)
        self._sig_submit.connect(self._runner.run)
        self._thread.finished.connect(self._runner.deleteLater)  # the runner dies on its own thread
        self._runner.sig_finished.connect(self._finished)
        self._callbacks: dict[int, tuple[Callable[[Any], None] | None, Callable[[str], None] | None]] = {}
        self._ids = itertools.count(1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: self.sig_busy.emit(True))
        self._thread.start()

    def submit(
        self,
        call: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_refused: Callable[[str], None] | None = None,
    ) -> int:
        """Queue `call` (runs on the worker thread); `on_done` / `on_refused` run on the UI thread."""
        job = next(self._ids)
        self._callbacks[job] = (on_done, on_refused)
        if not self._timer.isActive() and len(self._callbacks) == 1:
            self._timer.start(PROGRESS_AFTER_MS)
        self._runner.jobs.put((job, call))
        self._sig_submit.emit()
        return job

    @property
    def pending(self) -> int:
        return len(self._callbacks)

    def _finished(self) -> None:
        outcome = self._runner.outcomes.get()
        on_done, on_refused = self._callbacks.pop(outcome.job, (None, None))
        if not self._callbacks:
            self._timer.stop()
            self.sig_busy.emit(False)
        if outcome.bug is not None:
            self.sig_bug.emit(outcome.bug)
        elif outcome.refusal is not None:
            if on_refused is not None:
                on_refused(outcome.refusal)
        elif on_done is not None:
            on_done(outcome.value)

    def shutdown(self) -> None:
        """Finish the queued work, then stop the thread (nothing acknowledged is dropped)."""
        self._timer.stop()
        self._thread.quit()
        self._thread.wait()
