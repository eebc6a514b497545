"""The background worker: store work off the UI thread, results back on it, in order."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QThread

from cik_ecrf.store.errors import StoreError
from cik_ecrf.ui.worker import StoreWorker


def test_work_runs_off_the_ui_thread_and_returns_on_it(qtbot: Any) -> None:
    worker = StoreWorker()
    ui_thread = QThread.currentThread()
    seen: dict[str, Any] = {}

    def job() -> str:
        seen["ran_on"] = threading.current_thread().name
        seen["off_ui"] = QThread.currentThread() is not ui_thread
        return "done"

    def done(value: str) -> None:
        seen["value"] = value
        seen["callback_on_ui"] = QThread.currentThread() is ui_thread

    with qtbot.waitSignal(worker.sig_busy, check_params_cb=lambda busy: busy is False):
        worker.submit(job, done)
    assert seen == {"ran_on": seen["ran_on"], "off_ui": True, "value": "done", "callback_on_ui": True}
    worker.shutdown()


def test_jobs_run_one_at_a_time_in_order(qtbot: Any) -> None:
    worker = StoreWorker()
    order: list[int] = []
    for i in range(20):
        worker.submit(lambda i=i: i, order.append)
    qtbot.waitUntil(lambda: len(order) == 20)
    assert order == list(range(20))
    worker.shutdown()


def test_a_refusal_goes_to_its_handler_and_a_bug_is_reported(qtbot: Any) -> None:
    worker = StoreWorker()
    refused: list[str] = []

    def refuse() -> None:
        raise StoreError("no subject 'X' in this store")

    worker.submit(refuse, on_refused=refused.append)
    qtbot.waitUntil(lambda: refused == ["no subject 'X' in this store"])
    with qtbot.waitSignal(worker.sig_bug) as bug:
        worker.submit(lambda: 1 / 0)
    assert "ZeroDivisionError" in bug.args[0]
    worker.shutdown()


def test_long_work_reports_busy_after_the_delay(qtbot: Any) -> None:
    worker = StoreWorker()
    release = threading.Event()
    with qtbot.waitSignal(worker.sig_busy, timeout=5000, check_params_cb=lambda busy: busy is True):
        worker.submit(lambda: release.wait(10))
    release.set()
    qtbot.waitUntil(lambda: worker.pending == 0)
    worker.shutdown()
