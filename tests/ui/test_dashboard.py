"""The dashboard page draws what `reporting.dashboard` counted, counted on the worker thread."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest

from cik_ecrf.demo import NURSE, NURSE_PASSWORD, build_demo_store
from cik_ecrf.reporting import dashboard as reporting
from cik_ecrf.store.api import Store
from cik_ecrf.ui.dashboard import DashboardPage
from cik_ecrf.ui.worker import StoreWorker

TODAY = dt.date(2026, 3, 15)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    return build_demo_store(study, tmp_path_factory.mktemp("dashboard") / "store", today=TODAY)


@pytest.fixture
def store(demo: Path, study: Any) -> Any:
    opened = Store.open(demo, NURSE, NURSE_PASSWORD, study)
    yield opened
    opened.close()


def loaded(qtbot: Any, store: Store, worker: StoreWorker, language: str = "en") -> DashboardPage:
    page = DashboardPage(store, worker, language, today=lambda: TODAY)
    qtbot.addWidget(page)
    page.resize(1300, 700)
    page.show()
    with qtbot.waitSignal(page.sig_loaded, timeout=20000):
        page.refresh()
        assert page.data is None  # nothing computed on the UI thread: the worker has it
    return page


def test_tiles_show_the_reported_numbers(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    page = loaded(qtbot, store, worker)
    data = page.data
    assert data == reporting.dashboard(store, TODAY)  # the same record the report prints
    assert page.kpi["enrolled"].text() == "2 of 213 (0.9 %)"
    assert page.progress.maximum() == 213 and page.progress.value() == 2
    assert page.kpi["screened"].text() == "4" and page.kpi["overdue"].text() == str(data.visits.overdue)
    assert [b.label for b in page.forms.bars][:4] == ["Draft", "Complete", "Signed", "Locked"]
    assert [b.value for b in page.forms.bars][:2] == [1, 33]  # the two infused subjects' randomization forms count
    assert [(b.label, b.value) for b in page.subjects.bars] == [
        ("Screening", 1),
        ("Eligible", 1),
        ("Randomized", 0),
        ("In follow-up", 1),
        ("Ended", 1),
    ]
    assert page.enrolment.series[1].values[-1] == 2 and page.enrolment.months[-1] == "2026-03"
    assert page.failures.bars == () and page.failures.empty_text == "No screen failure."
    assert ("Day 1 — overdue", 1) in [(b.label, b.value) for b in page.visits.bars]
    assert "no query or SDV workflow" in page.not_yet.text()  # said, not faked as zero


def test_counted_off_the_ui_thread(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    threads: list[str] = []
    page = DashboardPage(store, worker, "en", today=lambda: TODAY)
    qtbot.addWidget(page)
    worker.submit(lambda: threads.append(threading.current_thread().name))
    with qtbot.waitSignal(page.sig_loaded, timeout=20000):
        page.refresh()
    assert threads and threads[0] != threading.main_thread().name


def test_chinese(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    page = loaded(qtbot, store, worker, "zh")
    assert page.kpi["enrolled"].text() == "2 / 213（0.9%）"
    assert [b.label for b in page.subjects.bars][0] == "筛选中"
    assert "尚无" in page.not_yet.text()
