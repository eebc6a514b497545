"""Subject list and subject view against a real store, loaded through the worker (offscreen)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QListWidget, QTableWidget

from cik_ecrf.demo import receive_allocation
from cik_ecrf.store import save_sql
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.ui import subject_view, subjects
from cik_ecrf.ui.subject_view import SubjectView
from cik_ecrf.ui.subjects import SubjectList
from cik_ecrf.ui.worker import StoreWorker

ADMIN, ADMIN_PW = "admin", "Ward-pass-2024"
NURSE, NURSE_PW = "nina", "Nurse-pass-2024"
D0 = dt.date(2025, 4, 1)
TODAY = dt.date(2025, 4, 5)  # D2 (due 2025-04-03, window ±0) is overdue for the infused subject
CONSENT = {
    "ICFVER": "v1.0",
    "ICFDAT": "2025-03-01",
    "SUBJSIGN": "Y",
    "GRDSIGN": "Y",
    "GRDREL": "MOTHER",
    "LTFUCONS": "Y",
}
VITALS = {
    "VSDAT": "2025-04-02T09:00+08:00",
    "TEMP": 37.0,
    "HR": 90,
    "RESP": 20,
    "SYSBP": 105,
    "DIABP": 65,
    "OXYSAT": 98,
    "O2SUPP": "NONE",
    "WEIGHT": 38.0,
}
INFUSION = {
    "PRODID": "P-0001",
    "INFSTDTC": f"{D0}T10:00+08:00",
    "INFENDTC": f"{D0}T10:40+08:00",
    "DOSWT": 38.0,
    "CELLS": 5.0,
    "VIAB": 92.0,
    "VOL": 100,
    "INTERR": "N",
}


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    directory = tmp_path_factory.mktemp("subjects") / "store"
    Store.init(directory, "BJ01", ADMIN, ADMIN_PW, device_code="UI02")
    with Store.open(directory, ADMIN, ADMIN_PW, study) as admin:
        admin.add_user(NURSE, "nurse", "First-pass-2024")
    with Store.open(directory, NURSE, "First-pass-2024", study) as nurse:
        nurse.change_password("First-pass-2024", NURSE_PW)
        nurse.add_subject("BJ01-0001")
        nurse.save(SaveRequest("BJ01-0001", "screening", "consent", CONSENT))
        nurse.save(SaveRequest("BJ01-0001", "screening", "demographics", {"SUBJINIT": "AB"}, draft=True))
        nurse.add_subject("BJ01-0002")
        receive_allocation(nurse, "BJ01-0002", "R-0001", "P-0001", f"{D0}T08:00+08:00")  # an infusion needs one
        nurse.save(SaveRequest("BJ01-0002", "D0", "infusion", INFUSION))
        nurse.save(SaveRequest("BJ01-0002", "D1", "vitals", VITALS))
        nurse.add_subject("BJ01-0103")
        pulled_from_server(nurse, "BJ01-0001", "screening", "vitals", {"VSDAT": "2025-03-01T09:00+08:00", "HR": 195})
    return directory


def pulled_from_server(store: Store, number: str, visit: str, form: str, values: dict[str, Any]) -> None:
    """A draft written as a sync pull would, not through `save`: its soft warning was never confirmed here."""
    with store.unit_of_work() as session:
        conn = session.connection()
        subject_id, _ = save_sql.subject_ref(conn, number)
        now = dt.datetime.now(dt.UTC).isoformat()
        save_sql.insert_instance(
            conn,
            "pulled-1",
            save_sql.visit_pk(conn, subject_id, visit),
            form,
            store.study.forms[form].version,
            "draft",
            now,
        )
        save_sql.write_values(
            conn, "pulled-1", store.actor.user_id or "", now, {k: json.dumps(v) for k, v in values.items()}, set(), []
        )


@pytest.fixture
def store(store_dir: Path, tmp_path: Path, study: Any) -> Any:
    copy = tmp_path / "store"
    shutil.copytree(store_dir, copy)  # each test its own copy of the module's store
    opened = Store.open(copy, NURSE, NURSE_PW, study)
    yield opened
    opened.close()


def loaded_list(qtbot: Any, store: Store, worker: StoreWorker, language: str = "en") -> SubjectList:
    widget = SubjectList(store, worker, language, today=lambda: TODAY)
    qtbot.addWidget(widget)
    widget.show()
    with qtbot.waitSignal(widget.sig_loaded, timeout=10000):
        widget.refresh()
    return widget


def loaded_view(qtbot: Any, store: Store, worker: StoreWorker, number: str, language: str = "en") -> SubjectView:
    widget = SubjectView(store, worker, number, language, today=lambda: TODAY)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.fully_loaded, timeout=10000)
    return widget


def row_of(table: QTableWidget, number: str) -> int:
    return next(r for r in range(table.rowCount()) if table.item(r, 0).text() == number)


def double_click(qtbot: Any, view: Any, rect: Any) -> None:
    """A real double-click: the view only acts on one whose first press landed on the same item."""
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


# ---------------------------------------------------------------------------- subject list


def test_list_shows_every_subject_with_status_d0_and_next_visit(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    widget = loaded_list(qtbot, store, worker)
    table = widget.findChild(QTableWidget, "subjectTable")
    assert table.rowCount() == 3
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Subject", "Status", "D0 (infusion)", "Next visit", "Due date"]
    infused = row_of(table, "BJ01-0002")
    assert [table.item(infused, c).text() for c in range(3)] == ["BJ01-0002", "In follow-up", "2025-04-01"]
    assert table.item(infused, 3).text() == "Day 1"  # only vitals of D1's three forms are in
    assert table.item(infused, 4).text().startswith("2025-04-02")
    screening = row_of(table, "BJ01-0001")
    assert table.item(screening, 1).text() == "Screening" and table.item(screening, 2).text() == ""


def test_search_filters_by_number(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    widget = loaded_list(qtbot, store, worker)
    search = widget.findChild(QLineEdit, "subjectSearch")
    qtbot.keyClicks(search, "010")
    assert widget.visible_numbers() == ["BJ01-0103"]
    search.clear()
    qtbot.keyClicks(search, "bj01-000")
    assert widget.visible_numbers() == ["BJ01-0001", "BJ01-0002"]
    search.clear()
    assert len(widget.visible_numbers()) == 3


def test_status_filter(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    widget = loaded_list(qtbot, store, worker)
    combo = widget.findChild(QComboBox, "subjectStatusFilter")
    combo.setCurrentIndex(combo.findData("in follow-up"))
    assert widget.visible_numbers() == ["BJ01-0002"]
    combo.setCurrentIndex(combo.findData("screening"))
    assert widget.visible_numbers() == ["BJ01-0001", "BJ01-0103"]
    combo.setCurrentIndex(0)
    assert len(widget.visible_numbers()) == 3


def test_overdue_row_is_highlighted(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    widget = loaded_list(qtbot, store, worker)
    table = widget.table
    overdue, other = row_of(table, "BJ01-0002"), row_of(table, "BJ01-0001")
    assert all(table.item(overdue, c).data(subjects.OVERDUE_ROLE) for c in range(table.columnCount()))
    assert table.item(overdue, 0).background().color() == subjects.OVERDUE_BACKGROUND
    # screening, baseline, D0 (vitals missing), D1 (partial), D2, D3 (D4 is today): every overdue visit counts
    assert "6 visits overdue" in table.item(overdue, 4).text() and table.item(overdue, 4).font().bold()
    assert "6 visits overdue" in table.item(overdue, 3).toolTip()
    assert not table.item(overdue, 3).icon().isNull()
    assert not table.item(other, 0).data(subjects.OVERDUE_ROLE)
    assert table.item(other, 0).background().color() != subjects.OVERDUE_BACKGROUND


def test_double_click_and_enter_open_the_subject(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    widget = loaded_list(qtbot, store, worker)
    table = widget.table
    row = row_of(table, "BJ01-0002")
    with qtbot.waitSignal(widget.sig_subject_opened) as opened:
        double_click(qtbot, table, table.visualItemRect(table.item(row, 1)))
    assert opened.args == ["BJ01-0002"]
    table.setCurrentCell(row_of(table, "BJ01-0001"), 0)
    with qtbot.waitSignal(widget.sig_subject_opened) as opened:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert opened.args == ["BJ01-0001"]


def test_chinese_headers_and_statuses(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    widget = loaded_list(qtbot, store, worker, "zh")
    table = widget.table
    assert table.horizontalHeaderItem(0).text() == "受试者编号"
    assert table.item(row_of(table, "BJ01-0002"), 1).text() == "随访中"
    assert "已逾期" in table.item(row_of(table, "BJ01-0002"), 4).text()


# ---------------------------------------------------------------------------- subject view


def cell_item(view: SubjectView, visit: str, form: str) -> Any:
    grid = view.grid_data
    row = [r.visit for r in grid.rows].index(visit)
    return view.grid.item(row, 1 + grid.forms.index(form))


def test_grid_shows_statuses_with_colours(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    view = loaded_view(qtbot, store, worker, "BJ01-0001")
    grid = view.findChild(QTableWidget, "scheduleGrid")
    assert grid.rowCount() == len(view.grid_data.rows) and grid.verticalHeaderItem(0).text() == "Screening"
    assert grid.horizontalHeaderItem(0).text() == "Window"
    consent, demographics, labs = (cell_item(view, "screening", f) for f in ("consent", "demographics", "labs"))
    assert (consent.text(), demographics.text(), labs.text()) == ("complete", "draft", "not started")
    assert consent.data(subject_view.STATUS_ROLE) == "complete"
    for item, name in ((consent, "complete"), (demographics, "draft"), (labs, "not-started")):
        assert not item.icon().isNull() and item.icon().cacheKey() == subject_view.icon(name).cacheKey()
    assert consent.background().color().name() == subject_view.STATUS_COLOURS["complete"]
    assert demographics.background().color().name() == subject_view.STATUS_COLOURS["draft"]
    assert cell_item(view, "screening", "infusion") is None  # not collected at screening


def test_grid_window_column_and_logs(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    view = loaded_view(qtbot, store, worker, "BJ01-0002")
    rows = [r.visit for r in view.grid_data.rows]
    assert view.grid.item(rows.index("D1"), 0).text() == "2025-04-02  started 2025-04-02 · in window  overdue"
    assert view.grid.item(rows.index("D14"), 0).text() == "2025-04-15 (2025-04-13 – 2025-04-17)"
    assert "In follow-up" in view.header.text() and "2025-04-01" in view.header.text()
    assert "overdue" in view.next_label.text()
    logs = view.findChild(QListWidget, "subjectLogs")
    texts = [logs.item(i).text() for i in range(logs.count())]
    assert texts[0].startswith("Adverse event") and "0 entries" in texts[0]
    assert any(t.startswith("Death") and "not started" in t for t in texts)


def test_open_warning_is_marked(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    view = loaded_view(qtbot, store, worker, "BJ01-0001")
    vitals = cell_item(view, "screening", "vitals")  # HR 195 pulled from the server, never confirmed here
    assert vitals.text() == "draft" and vitals.data(subject_view.WARNINGS_ROLE) == 1
    assert vitals.icon().cacheKey() == subject_view.icon("warning").cacheKey()  # the warning icon, not "draft"
    assert vitals.foreground().color() == subject_view.WARNING_FOREGROUND and "1 open warning" in vitals.toolTip()
    demographics = cell_item(view, "screening", "demographics")
    assert demographics.text() == "draft" and demographics.data(subject_view.WARNINGS_ROLE) == 0


def test_double_click_cell_requests_the_form(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    view = loaded_view(qtbot, store, worker, "BJ01-0001")
    consent = cell_item(view, "screening", "consent")
    instance = view.grid_data.row("screening").cell("consent").instance
    with qtbot.waitSignal(view.sig_form_requested) as requested:
        double_click(qtbot, view.grid, view.grid.visualItemRect(consent))
    assert requested.args == ["screening", "consent", instance]
    labs = cell_item(view, "screening", "labs")
    with qtbot.waitSignal(view.sig_form_requested) as requested:
        double_click(qtbot, view.grid, view.grid.visualItemRect(labs))
    assert requested.args == ["screening", "labs", None]


def test_double_click_log_requests_a_new_entry(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    view = loaded_view(qtbot, store, worker, "BJ01-0002")
    logs = view.logs
    with qtbot.waitSignal(view.sig_form_requested) as requested:
        double_click(qtbot, logs, logs.visualItemRect(logs.item(0)))
    assert requested.args == ["subject", "adverse_events", None]


def test_refresh_after_a_save_updates_the_grid(qtbot: Any, store: Store, worker: StoreWorker, study: Any) -> None:
    view = loaded_view(qtbot, store, worker, "BJ01-0103")
    assert cell_item(view, "screening", "consent").text() == "not started"
    worker.submit(lambda: store.save(SaveRequest("BJ01-0103", "screening", "consent", {"ICFVER": "v1.0"}, draft=True)))
    view.refresh()
    qtbot.waitUntil(lambda: cell_item(view, "screening", "consent").text() == "draft", timeout=10000)
    qtbot.waitUntil(lambda: view.fully_loaded)


# ---------------------------------------------------------------------------- adding a subject


def test_add_subject_with_a_new_number_opens_it(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    widget = loaded_list(qtbot, store, worker)
    assert widget.add_button.isEnabled()
    qtbot.mouseClick(widget.add_button, Qt.MouseButton.LeftButton)
    dialog = widget.add_dialog
    assert dialog is not None and dialog.isVisible() and dialog.new_number.isChecked()
    qtbot.waitUntil(lambda: "BJ01-UI02-" in dialog.new_number.text())  # the example is this laptop's pattern
    with qtbot.waitSignal(widget.sig_subject_opened, timeout=10000) as opened:
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    number = opened.args[0]
    assert number.startswith("BJ01-UI02-") and not dialog.isVisible()
    qtbot.waitUntil(lambda: number in widget.visible_numbers(), timeout=10000)


def test_ctrl_n_adds_a_paper_screening_number_and_a_duplicate_stays_in_the_dialog(
    qtbot: Any, store: Store, worker: StoreWorker
) -> None:
    widget = loaded_list(qtbot, store, worker)
    widget.table.setFocus()
    qtbot.keyClick(widget.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = widget.add_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.number, "BJ01-0001")  # typing the number chooses the paper option
    assert dialog.paper.isChecked()
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "already exists" in dialog.message.text(), timeout=10000)
    assert dialog.isVisible() and dialog.add_button.isEnabled()  # the nurse corrects it in place
    dialog.number.clear()
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert "Type the paper screening number" in dialog.message.text()
    qtbot.keyClicks(dialog.number, "PAPER-017")
    with qtbot.waitSignal(widget.sig_subject_opened, timeout=10000) as opened:
        qtbot.keyClick(dialog.number, Qt.Key.Key_Return)
    assert opened.args == ["PAPER-017"]


def test_add_subject_dialog_in_chinese_and_refusal_translated(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    widget = loaded_list(qtbot, store, worker, "zh")
    assert widget.add_button.text() == "添加受试者…"
    dialog = widget.add_subject()
    qtbot.keyClicks(dialog.number, "BJ01-0002")
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.text() == "受试者 BJ01-0002 已存在", timeout=10000)


def test_a_monitor_cannot_add_subjects(qtbot: Any, store_dir: Path, tmp_path: Path, study: Any) -> None:
    copy = tmp_path / "store"
    shutil.copytree(store_dir, copy)
    with Store.open(copy, ADMIN, ADMIN_PW, study) as admin:
        admin.add_user("mona", "monitor", "Monitor-pass-2024")
    monitor = Store.open(copy, "mona", "Monitor-pass-2024", study)
    monitor.must_change_password = False  # the first-password step is the login's business, not the list's
    running = StoreWorker()
    try:
        widget = SubjectList(monitor, running, "en", today=lambda: TODAY)
        qtbot.addWidget(widget)
        assert not widget.add_button.isEnabled() and widget.add_subject() is None
    finally:
        running.shutdown()
        monitor.close()


# ---------------------------------------------------------------------------- the schedule's looks


def test_visit_column_stays_while_the_form_columns_scroll(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    view = loaded_view(qtbot, store, worker, "BJ01-0002")
    view.resize(900, 600)
    frozen = view.frozen.view
    assert frozen.isVisible() and not frozen.isColumnHidden(0)
    assert all(frozen.isColumnHidden(c) for c in range(1, view.grid.columnCount()))
    assert view.grid.columnCount() == 1 + len(view.grid_data.forms) == 15  # the window column and every visit form
    before = frozen.geometry()
    bar = view.grid.horizontalScrollBar()
    assert bar.maximum() > 0  # 14 form columns do not fit in 900 px
    bar.setValue(bar.maximum())
    assert frozen.geometry() == before and frozen.columnWidth(0) == view.grid.columnWidth(0)
    assert frozen.model() is view.grid.model()  # the same items: the visit's window and status


def test_signed_form_shows_signed_and_visit_icons(qtbot: Any, store: Store, worker: StoreWorker, study: Any) -> None:
    with store.unit_of_work() as session:  # as the store's signing step leaves it
        session.connection().exec_driver_sql("UPDATE form_instance SET status = 'signed' WHERE form_id = 'infusion'")
    view = loaded_view(qtbot, store, worker, "BJ01-0002")
    infusion = cell_item(view, "D0", "infusion")
    assert infusion.text() == "signed" and infusion.data(subject_view.STATUS_ROLE) == "signed"
    assert infusion.icon().cacheKey() == subject_view.icon("signed").cacheKey()
    rows = [r.visit for r in view.grid_data.rows]
    d1 = view.grid.item(rows.index("D1"), 0)
    assert d1.icon().cacheKey() == subject_view.icon("overdue").cacheKey()
    assert "not every form is complete" in d1.toolTip()
    assert view.grid.item(rows.index("D14"), 0).icon().isNull()  # nothing yet, not due yet
    assert "Day 1" in view.next_label.text() and "visits overdue" in view.next_label.text()


def test_statuses_show_first_then_the_warnings(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    view = SubjectView(store, worker, "BJ01-0001", "en", today=lambda: TODAY)
    qtbot.addWidget(view)
    grids: list[Any] = []
    view.sig_loaded.connect(grids.append)
    qtbot.waitUntil(lambda: len(grids) == 2, timeout=10000)
    assert not grids[0].warnings_evaluated and grids[1].warnings_evaluated
    assert grids[0].row("screening").cell("vitals").open_warnings == 0  # not counted yet
    assert grids[1].row("screening").cell("vitals").open_warnings == 1
    assert cell_item(view, "screening", "vitals").data(subject_view.WARNINGS_ROLE) == 1
