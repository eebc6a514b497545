"""An unblinded subject is marked in the subject list and the subject's header, in both languages,
with never a word of its arm."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from rand_helpers import ARM_WORDS, NURSE, allocate, make_store, unblinded

from cik_ecrf.store.api import Store
from cik_ecrf.ui.subject_view import SubjectView
from cik_ecrf.ui.subjects import COLUMNS, SubjectList
from cik_ecrf.ui.worker import StoreWorker

TODAY = dt.date(2026, 3, 20)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    directory = make_store(tmp_path_factory.mktemp("unblindmarks") / "store", study)
    with Store.open(directory, NURSE[0], NURSE[1], study) as store:
        allocate(store, "S-ELIG")
        unblinded(store, "S-ELIG")
    return directory


@pytest.fixture
def store(built: Path, tmp_path: Path, study: Any) -> Any:
    copy = tmp_path / "store"
    shutil.copytree(built, copy)
    opened = Store.open(copy, NURSE[0], NURSE[1], study)
    yield opened
    opened.close()


@pytest.fixture
def worker(qtbot: Any) -> Any:
    made = StoreWorker()
    yield made
    made.shutdown()


def status_cells(widget: SubjectList) -> dict[str, tuple[str, str]]:
    column = COLUMNS.index("status")
    table = widget.table
    return {
        table.item(r, 0).text(): (table.item(r, column).text(), table.item(r, column).toolTip())
        for r in range(table.rowCount())
    }


@pytest.mark.parametrize(("language", "mark"), [("en", "unblinded"), ("zh", "已揭盲")])
def test_the_list_and_the_header_mark_an_unblinded_subject(
    qtbot: Any, store: Store, worker: StoreWorker, language: str, mark: str
) -> None:
    listing = SubjectList(store, worker, language, today=lambda: TODAY)
    qtbot.addWidget(listing)
    listing.show()
    with qtbot.waitSignal(listing.sig_loaded, timeout=10000):
        listing.refresh()
    cells = status_cells(listing)
    text, tip = cells["S-ELIG"]
    assert mark in text and tip
    assert all(mark not in t for number, (t, _) in cells.items() if number != "S-ELIG")  # only that subject
    view = SubjectView(store, worker, "S-ELIG", language, today=lambda: TODAY)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.fully_loaded, timeout=10000)
    assert mark in view.header.text()
    shown = "\n".join([text, tip, view.header.text()]).lower()
    assert not any(word.lower() in shown for word in ARM_WORDS)
