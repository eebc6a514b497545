"""The monitor's worklist (filters, opening a form at the field), the subject view's SDV progress and
query list, and the subject list's query counts, in the main window against a real store."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from monitoring_setup import DATA_MANAGER, MONITOR, NURSE, enter_vitals, login, make_site
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget

from cik_ecrf.store.monitoring import QueryRow
from cik_ecrf.ui.app import MainWindow
from cik_ecrf.ui.form_page import FormPage
from cik_ecrf.ui.query_lists import COLUMNS, QueryTableModel
from cik_ecrf.ui.worker import StoreWorker
from cik_ecrf.ui.worklist import WorklistPage


@pytest.fixture(scope="module")
def site_template(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    """Two subjects with vitals; queries on a field, a form and a visit; one answered, one closed."""
    directory = tmp_path_factory.mktemp("site") / "store"
    make_site(directory, study)
    nurse = login(directory, study, NURSE)
    first, _ = enter_vitals(nurse)
    second, _ = enter_vitals(nurse)
    monitor = login(directory, study, MONITOR)
    m = monitor.monitoring
    hr = m.open_query(first, "screening", "vitals", "HR", text="HR 80 in the notes?")
    m.open_query(first, "screening", "vitals", text="Weight unit?")
    m.open_query(second, "screening", text="Visit date differs")
    closed = m.open_query(second, "screening", "vitals", "TEMP", text="Raised in error")
    m.close_query(closed, "raised in error")
    nurse.monitoring.answer_query(hr, "Checked: 80 is right")
    m.verify(first, "screening", "vitals")
    nurse.close(), monitor.close()
    return directory


@pytest.fixture
def window(qtbot: Any, site_template: Path, tmp_path: Path, study: Any) -> Any:
    return main_window(qtbot, site_template, tmp_path, study, MONITOR)


def main_window(qtbot: Any, site_template: Path, tmp_path: Path, study: Any, user: str) -> MainWindow:
    directory = tmp_path / "store"
    shutil.copytree(site_template, directory)
    main = MainWindow(login(directory, study, user), StoreWorker(), idle_minutes=60, settings_dir=directory)
    qtbot.addWidget(main)
    main.resize(1366, 768)
    main.show()
    with qtbot.waitSignal(main.subject_list.sig_loaded, timeout=10000):
        main.show_subjects()
    return main


def open_worklist(qtbot: Any, window: MainWindow) -> WorklistPage:
    with qtbot.waitSignal(window.worklist.action.triggered):
        window.worklist.action.trigger()
    page = window.worklist.page
    qtbot.waitUntil(lambda: len(page.all) == 4, timeout=10000)
    return page


def test_worklist_filters_by_status_age_subject_and_form(qtbot: Any, window: MainWindow) -> None:
    page = open_worklist(qtbot, window)
    assert window.stack.currentWidget() is page
    assert page.model.rowCount() == 3  # needing work: open or answered (the closed one is left out)
    page.status.setCurrentIndex(page.status.findData(None))
    assert page.model.rowCount() == 4
    page.status.setCurrentIndex(page.status.findData("answered"))
    assert [q.text for q in page.model.rows] == ["HR 80 in the notes?"]
    page.status.setCurrentIndex(page.status.findData(None))
    numbers = sorted({q.subject for q in page.all})
    qtbot.keyClicks(page.subject, numbers[1][-4:])
    assert {q.subject for q in page.model.rows} == {numbers[1]} and page.model.rowCount() == 2
    page.subject.clear()
    page.form.setCurrentIndex(page.form.findData("vitals"))
    assert page.model.rowCount() == 3 and all(q.form_id == "vitals" for q in page.model.rows)
    page.older.setValue(3)  # all opened today
    assert page.model.rowCount() == 0
    assert page.notice.text().startswith("0 of 4")
    page.older.setValue(0)
    assert page.model.rowCount() == 3
    status_column = COLUMNS.index("status")
    texts = {page.model.index(r, status_column).data() for r in range(page.model.rowCount())}
    assert texts == {"open", "answered", "closed"}


def test_age_filter_on_old_queries(qapp: Any, study: Any) -> None:
    """Age is whole days since opening: "older than 7" keeps the 10-day-old query only."""
    page_model = QueryTableModel(study)
    now = dt.datetime.now(dt.UTC).isoformat()
    rows = [
        QueryRow(
            str(i),
            "s",
            "BJ01-0001",
            "screening",
            "vitals",
            "i",
            "HR",
            "field",
            "manual",
            "open",
            "t",
            "m",
            now,
            now,
            1,
            age,
        )
        for i, age in enumerate((0, 5, 10))
    ]
    page_model.set_rows(rows)
    assert page_model.rowCount() == 3 and page_model.index(2, COLUMNS.index("age")).data() == "10"
    assert page_model.index(0, COLUMNS.index("field")).data() == "Heart rate"


def test_double_click_opens_the_form_at_the_field_with_its_thread(qtbot: Any, window: MainWindow) -> None:
    page = open_worklist(qtbot, window)
    row = next(i for i, q in enumerate(page.model.rows) if q.field_id == "HR")
    index = page.model.index(row, 0)
    page.table.scrollTo(index)
    rect = page.table.visualRect(index)
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    form = window.stack.currentWidget()
    assert isinstance(form, FormPage) and form.form == "vitals"
    qtbot.waitUntil(lambda: form.monitoring.thread_dialog is not None, timeout=10000)
    dialog = form.monitoring.thread_dialog
    qtbot.waitUntil(lambda: len(dialog.messages) == 2, timeout=10000)
    assert "Checked: 80 is right" in dialog.thread.toPlainText()
    assert dialog.buttons["close"].isEnabled() and dialog.buttons["reopen"].isEnabled()  # the monitor's moves
    assert not dialog.buttons["answer"].isEnabled()
    with qtbot.waitSignal(form.monitoring.sig_loaded, timeout=10000):
        assert dialog.make("close")
    qtbot.waitUntil(lambda: dialog.current.status == "closed", timeout=10000)
    dialog.close()
    window.back()
    assert window.stack.currentWidget() is window.subject_view


def test_subject_view_shows_sdv_progress_and_the_subjects_queries(qtbot: Any, window: MainWindow) -> None:
    number = window.subject_list.rows[0].number
    window.open_subject(number)
    view = window.subject_view
    qtbot.waitUntil(lambda: view.monitoring.progress is not None and view.fully_loaded, timeout=10000)
    assert view.monitoring.sdv_label.text() == "Source-data verification: 1 of 1 forms verified"
    assert "1/1 verified" in view.monitoring.visits.text()
    assert view.monitoring.model.rowCount() == 2
    assert not view.monitoring.buttons["lock_visit"].isEnabled()  # a monitor does not lock


def test_subject_list_counts_queries_per_subject(qtbot: Any, window: MainWindow) -> None:
    table = window.subject_list.findChild(QTableWidget, "subjectTable")
    qtbot.waitUntil(lambda: table.columnCount() == 6, timeout=10000)
    assert table.horizontalHeaderItem(5).text() == "Queries"
    cells = {table.item(r, 0).text(): table.item(r, 5).text() for r in range(table.rowCount())}
    assert sorted(cells.values()) == ["1 open · 0 answered", "1 open · 1 answered"]


def test_worklist_and_badge_texts_in_chinese(qtbot: Any, window: MainWindow) -> None:
    window.set_language("zh")
    assert window.worklist.action.text() == "质疑"
    page = open_worklist(qtbot, window)
    assert page.model.headerData(0, Qt.Orientation.Horizontal) == "受试者"
    assert page.status.currentText() == "待处理（待处理或已回复）"
    status_column = COLUMNS.index("status")
    assert {page.model.index(r, status_column).data() for r in range(page.model.rowCount())} == {"待处理", "已回复"}


def test_a_data_manager_locks_and_unlocks_a_visit_and_the_subject(
    qtbot: Any, site_template: Path, tmp_path: Path, study: Any
) -> None:
    window = main_window(qtbot, site_template, tmp_path, study, DATA_MANAGER)
    number = window.subject_list.rows[0].number
    window.open_subject(number)
    view = window.subject_view
    panel = view.monitoring
    qtbot.waitUntil(lambda: panel.progress is not None and view.fully_loaded, timeout=10000)
    assert not panel.buttons["lock_visit"].isEnabled() and "Select a visit" in panel.buttons["lock_visit"].toolTip()
    view.grid.setCurrentCell(0, 1)  # the screening row
    assert panel.buttons["lock_visit"].isEnabled() and not panel.buttons["unlock"].isEnabled()
    with qtbot.waitSignal(panel.sig_loaded, timeout=10000):
        qtbot.mouseClick(panel.buttons["lock_visit"], Qt.MouseButton.LeftButton)
    assert panel.lock_line.isVisible() and "Locked by dora" in panel.lock_line.text()
    assert panel.buttons["unlock"].isEnabled()
    with qtbot.waitSignal(panel.sig_loaded, timeout=10000):
        qtbot.mouseClick(panel.buttons["lock_subject"], Qt.MouseButton.LeftButton)
    assert "the whole subject" in panel.lock_line.text() and not panel.buttons["lock_subject"].isEnabled()
    panel.ask_unlock = lambda: "   "
    assert not panel.unlock()  # a reason is needed
    for _ in range(2):  # the subject's lock first, then the visit's
        with qtbot.waitSignal(panel.sig_loaded, timeout=10000):
            assert panel.unlock("agreed with the monitor")
    assert not panel.lock_line.isVisible() and window.store.monitoring.locks(number) == []


def test_a_visit_query_opens_its_thread_over_the_schedule(qtbot: Any, window: MainWindow) -> None:
    page = open_worklist(qtbot, window)
    visit_query = next(q for q in page.model.rows if q.scope == "visit")
    dialog = window.worklist.open_query(visit_query)
    assert window.stack.currentWidget() is window.subject_view
    qtbot.waitUntil(lambda: len(dialog.messages) == 1, timeout=10000)
    assert "Visit date differs" in dialog.thread.toPlainText() and "Screening" in dialog.about.text()
    assert dialog.buttons["close"].isEnabled()
    with qtbot.waitSignal(window.subject_view.monitoring.sig_loaded, timeout=10000):
        assert dialog.make("close")
    assert window.store.monitoring.query(visit_query.id).status == "closed"
    dialog.close()


def test_the_worklist_on_screen_reads_again_after_a_sync_brings_changes(
    qtbot: Any, window: MainWindow, study: Any
) -> None:
    """A query raised elsewhere reaches this store (as a pull writes it); the sync's outcome then has
    the worklist on screen read its queries again, without being reopened."""
    from cik_ecrf.sync.client import SyncOutcome

    page = open_worklist(qtbot, window)
    other = login(window.store.directory, study, DATA_MANAGER)
    number = other.subject_numbers()[0]
    other.monitoring.open_query(number, "screening", "vitals", "RESP", text="Raised on another laptop")
    other.close()
    assert len(page.all) == 4  # nothing reads the store on its own
    with qtbot.waitSignal(page.sig_loaded, timeout=10000):
        window.sync.sig_outcome.emit(SyncOutcome(pushed=0, pulled=1, conflicts=0, waiting=0))
    assert len(page.all) == 5 and any(q.text == "Raised on another laptop" for q in page.all)
