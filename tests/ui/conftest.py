"""Qt tests run offscreen: no display is needed, on a laptop or in CI."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cik_ecrf.demo import NURSE, NURSE_PASSWORD, build_demo_store
from cik_ecrf.store.api import Store
from cik_ecrf.ui.app import MainWindow
from cik_ecrf.ui.worker import StoreWorker


@pytest.fixture
def worker() -> Iterator[StoreWorker]:
    """A background store worker, stopped after the test (queued work finishes first)."""
    running = StoreWorker()
    yield running
    running.shutdown()


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    return build_demo_store(study, tmp_path_factory.mktemp("demo") / "store")


@pytest.fixture
def window(qtbot: Any, demo_template: Path, tmp_path: Path, study: Any) -> Any:
    import shutil

    directory = tmp_path / "store"
    shutil.copytree(demo_template, directory)
    store = Store.open(directory, NURSE, NURSE_PASSWORD, study)
    worker = StoreWorker()  # shut down by the window's close
    main = MainWindow(store, worker, idle_minutes=60, settings_dir=directory)
    qtbot.addWidget(main)
    main.resize(1100, 800)
    main.show()
    with qtbot.waitSignal(main.subject_list.sig_loaded):
        main.show_subjects()
    return main
