"""Monitoring on a form page against a real store: a query's badge and thread, an answer with a
correction through the dialog, a lock making the form read-only, SDV dropped after an edit."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from monitoring_setup import DATA_MANAGER, MONITOR, NURSE, enter_vitals, login, make_site
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from cik_ecrf.store.api import Store
from cik_ecrf.ui.form_page import FormPage
from cik_ecrf.ui.worker import StoreWorker


@pytest.fixture(scope="module")
def site_template(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    directory = tmp_path_factory.mktemp("site") / "store"
    make_site(directory, study)
    return directory


@pytest.fixture
def site(site_template: Path, tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    shutil.copytree(site_template, directory)
    return directory


def open_page(qtbot: Any, store: Store, worker: StoreWorker, number: str) -> FormPage:
    page = FormPage(store, worker, number, "screening", "vitals")
    qtbot.addWidget(page)
    page.resize(1000, 800)
    page.show()
    with qtbot.waitSignal(page.monitoring.sig_loaded, timeout=10000):
        pass
    qtbot.waitUntil(lambda: page.view is not None and page.view.isVisible())  # a new view shows on the next turn
    return page


def test_a_field_query_shows_a_badge_that_opens_its_thread(qtbot: Any, site: Path, study: Any, worker: Any) -> None:
    nurse = login(site, study, NURSE)
    number, _instance = enter_vitals(nurse)
    monitor = login(site, study, MONITOR)
    query = monitor.monitoring.open_query(number, "screening", "vitals", "HR", text="Source says 88 bpm?")
    monitor.monitoring.open_query(number, "screening", "vitals", text="Whole form: weight unit?")
    monitor.monitoring.open_query(number, "screening", text="Visit date in the notes differs")
    page = open_page(qtbot, nurse, worker, number)
    badge = page.monitoring.marks["HR"].badge
    assert badge.isVisible() and badge.text() == "? 1" and badge.status == "open"
    assert "open" in badge.toolTip()
    assert page.monitoring.form_badge.isVisible() and page.monitoring.visit_badge.isVisible()
    assert "TEMP" not in page.monitoring.marks  # no query, no mark: nothing added to quiet fields
    qtbot.mouseClick(badge, Qt.MouseButton.LeftButton)
    dialog = page.monitoring.thread_dialog
    qtbot.waitUntil(lambda: bool(dialog.messages), timeout=10000)
    text = dialog.thread.toPlainText()
    assert "mona" in text and "(monitor)" in text and "Source says 88 bpm?" in text and "(UTC+" in text
    assert dialog.current.id == query
    assert dialog.buttons["answer"].isEnabled()  # the nurse answers
    assert not dialog.buttons["close"].isEnabled() and "nurse cannot close" in dialog.buttons["close"].toolTip()
    assert not dialog.buttons["reopen"].isEnabled()
    nurse.close(), monitor.close()


def test_answer_with_a_correction_through_the_dialog(qtbot: Any, site: Path, study: Any, worker: Any) -> None:
    nurse = login(site, study, NURSE)
    number, _instance = enter_vitals(nurse)
    monitor = login(site, study, MONITOR)
    query = monitor.monitoring.open_query(number, "screening", "vitals", "HR", text="Source says 88 bpm?")
    page = open_page(qtbot, nurse, worker, number)
    dialog = page.monitoring.open_thread(page.monitoring.data.queries)
    qtbot.waitUntil(lambda: dialog.buttons["answer"].isEnabled(), timeout=10000)
    assert dialog.correction_box.isVisible()
    edit = dialog.correction.findChild(QLineEdit, "HR_edit")
    qtbot.keyClicks(edit, "88")
    assert dialog.correction_box.isChecked()  # typing a value means a correction
    qtbot.keyClicks(dialog.text, "Transcription error, source is 88")
    with qtbot.waitSignal(page.monitoring.sig_loaded, timeout=10000):  # the form is read again with the new value
        qtbot.mouseClick(dialog.buttons["answer"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.current.status == "answered" and len(dialog.messages) == 2, timeout=10000)
    assert "with a correction" in dialog.thread.toPlainText()
    assert page.view.widgets["HR"].raw() == "88"
    assert page.monitoring.marks["HR"].badge.status == "answered"
    _, rows = nurse.subject_values(number)
    assert rows[0]["values"]["HR"] == 88
    [step] = [m for m in monitor.monitoring.thread(query) if m.transition == "answer"]
    assert step.correction and step.username == NURSE
    nurse.close(), monitor.close()


def test_lock_makes_the_form_read_only_and_unlock_needs_a_reason(
    qtbot: Any, site: Path, study: Any, worker: Any
) -> None:
    nurse = login(site, study, NURSE)
    number, _instance = enter_vitals(nurse)
    nurse.close()
    manager = login(site, study, DATA_MANAGER)
    page = open_page(qtbot, manager, worker, number)
    lock, unlock = page.monitoring.buttons["lock"], page.monitoring.buttons["unlock"]
    assert lock.isEnabled() and not page.monitoring.lock_banner.isVisible()
    with qtbot.waitSignal(page.monitoring.sig_loaded, timeout=10000):
        qtbot.mouseClick(lock, Qt.MouseButton.LeftButton)
    banner = page.monitoring.lock_banner
    assert banner.isVisible() and "Locked by dora" in banner.text() and "(UTC" in banner.text()
    assert not page.view.findChild(QLineEdit, "HR_edit").isEnabled()
    assert not page.view.draft_button.isEnabled() and not page.view.complete_button.isEnabled()
    assert unlock.isVisible() and not lock.isVisible()
    page.monitoring.ask_unlock = lambda: ""  # no reason: nothing is sent
    assert not page.monitoring.unlock()
    page.monitoring.ask_unlock = lambda: "late lab result to enter"
    with qtbot.waitSignal(page.monitoring.sig_loaded, timeout=10000):
        assert page.monitoring.unlock()
    assert not page.monitoring.lock_banner.isVisible()
    assert page.view.findChild(QLineEdit, "HR_edit").isEnabled()
    manager.close()


def test_a_nurse_sees_the_lock_and_cannot_lock(qtbot: Any, site: Path, study: Any, worker: Any) -> None:
    nurse = login(site, study, NURSE)
    number, _instance = enter_vitals(nurse)
    manager = login(site, study, DATA_MANAGER)
    manager.monitoring.lock(number, "screening")
    page = open_page(qtbot, nurse, worker, number)
    assert page.monitoring.lock_banner.isVisible() and "the whole visit" in page.monitoring.lock_banner.text()
    assert not page.view.findChild(QLineEdit, "TEMP_edit").isEnabled()
    assert not page.monitoring.buttons["unlock"].isEnabled()
    assert "data manager" in page.monitoring.buttons["unlock"].toolTip()
    nurse.close(), manager.close()


def test_sdv_dropped_shows_after_an_edit(qtbot: Any, site: Path, study: Any, worker: Any) -> None:
    nurse = login(site, study, NURSE)
    number, instance = enter_vitals(nurse)
    monitor = login(site, study, MONITOR)
    monitor.monitoring.verify(number, "screening", "vitals")
    monitor.monitoring.verify(number, "screening", "vitals", ["HR", "TEMP"])
    page = open_page(qtbot, nurse, worker, number)
    assert page.monitoring.sdv_label.property("state") == "verified"
    assert page.monitoring.marks["HR"].sdv.property("state") == "verified"
    edit = page.findChild(QLineEdit, "HR_edit")
    edit.clear()
    qtbot.keyClicks(edit, "91")
    page.ask_reason = lambda: "re-measured"
    with qtbot.waitSignal(page.monitoring.sig_loaded, timeout=10000):
        page.save_now()
    assert page.monitoring.sdv_label.property("state") == "dropped"
    assert "Verification dropped" in page.monitoring.sdv_label.text()
    assert page.monitoring.marks["HR"].sdv.property("state") == "dropped"
    assert page.monitoring.marks["TEMP"].sdv.property("state") == "verified"
    assert nurse.monitoring.sdv_state(instance).form == "dropped"
    nurse.close(), monitor.close()


def test_a_monitor_verifies_and_opens_a_query_from_the_form(qtbot: Any, site: Path, study: Any, worker: Any) -> None:
    nurse = login(site, study, NURSE)
    number, instance = enter_vitals(nurse)
    nurse.close()
    monitor = login(site, study, MONITOR)
    page = open_page(qtbot, monitor, worker, number)
    assert page.monitoring.buttons["verify_form"].isEnabled() and not page.monitoring.buttons["lock"].isEnabled()
    with qtbot.waitSignal(page.monitoring.sig_loaded, timeout=10000):
        qtbot.mouseClick(page.monitoring.buttons["verify_form"], Qt.MouseButton.LeftButton)
    assert page.monitoring.sdv_label.property("state") == "verified" and "mona" in page.monitoring.sdv_label.text()
    page.monitoring.ask_query = lambda targets, chosen: (targets[chosen][1], targets[chosen][2], "Is 37.2 right?")
    with qtbot.waitSignal(page.monitoring.sig_loaded, timeout=10000):
        assert page.monitoring.open_query("TEMP")
    assert page.monitoring.marks["TEMP"].badge.text() == "? 1"
    [query] = monitor.monitoring.queries_for_instance(instance)
    assert (query.field_id, query.text, query.opened_by) == ("TEMP", "Is 37.2 right?", MONITOR)
    monitor.close()
