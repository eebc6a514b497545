"""A form page against a real store: load and save through the worker, warnings, reasons, history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton
from stores import store_with_nurse

from cik_ecrf.store.api import Store
from cik_ecrf.ui.form_page import FormPage
from cik_ecrf.ui.worker import StoreWorker

ADMIN, ADMIN_PW = "admin", "Ward-pass-2024"
NURSE, NURSE_PW = "nina", "Nurse-pass-2024"
VITALS = {
    "VSDAT": "2026-01-11T09:00+08:00",
    "TEMP": "37.2",
    "HR": "80",
    "RESP": "20",
    "SYSBP": "110",
    "DIABP": "70",
    "OXYSAT": "98",
    "O2SUPP": "NONE",
    "WEIGHT": "40.5",
    "HEIGHT": "150",
    "ECOG": 1,
}


@pytest.fixture
def store(tmp_path: Path, study: Any) -> Any:
    directory = tmp_path / "store"
    store_with_nurse(directory, study, "UI01", (ADMIN, ADMIN_PW), (NURSE, "First-pass-2024", NURSE_PW))
    opened = Store.open(directory, NURSE, NURSE_PW, study)
    yield opened
    opened.close()


def page(qtbot: Any, store: Store, worker: StoreWorker, subject: str, form: str = "vitals", **kwargs: Any) -> FormPage:
    widget = FormPage(store, worker, subject, "screening", form, **kwargs)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.view is not None)
    return widget


def type_into(qtbot: Any, widget: FormPage, field: str, text: str) -> None:
    edit = widget.findChild(QLineEdit, f"{field}_edit")
    edit.clear()
    qtbot.keyClicks(edit, text)


def test_complete_save_lands_in_the_store(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    subject = store.add_subject()
    widget = page(qtbot, store, worker, subject)
    for field, value in VITALS.items():
        widget.view.widgets[field].set_raw(value)
        widget.view.on_edited(field, widget.view.widgets[field].raw())
    with qtbot.waitSignal(widget.sig_saved) as saved:
        qtbot.mouseClick(widget.findChild(QPushButton, "markComplete"), Qt.MouseButton.LeftButton)
    assert saved.args[0].status == "complete"
    _, rows = store.subject_values(subject)
    assert rows[0]["values"]["HR"] == 80 and rows[0]["status"] == "complete"


def test_soft_warning_needs_confirmation_and_is_audited(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    subject = store.add_subject()
    asked: list[list[str]] = []
    widget = page(qtbot, store, worker, subject, confirm=lambda lines: asked.append(lines) or True)
    type_into(qtbot, widget, "HR", "190")
    with qtbot.waitSignal(widget.sig_saved):
        qtbot.mouseClick(widget.findChild(QPushButton, "saveDraft"), Qt.MouseButton.LeftButton)
    assert any("Heart rate" in line for line in asked[0])
    events = [e for e in store.audit_events(subject) if e.field_id == "HR"]
    assert events[-1].confirmed_json and "HR:soft_range" in events[-1].confirmed_json


def test_declining_the_warning_saves_nothing(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    subject = store.add_subject()
    widget = page(qtbot, store, worker, subject, confirm=lambda lines: False)
    type_into(qtbot, widget, "HR", "190")
    qtbot.mouseClick(widget.findChild(QPushButton, "saveDraft"), Qt.MouseButton.LeftButton)
    assert worker.pending == 0 and store.subject_values(subject)[1] == []


def test_changing_a_completed_form_asks_for_a_reason_and_audits_it(
    qtbot: Any, store: Store, worker: StoreWorker
) -> None:
    from cik_ecrf.store.entry import SaveRequest

    subject = store.add_subject()
    store.save(SaveRequest(subject, "screening", "vitals", VITALS))
    widget = page(qtbot, store, worker, subject, ask_reason=lambda: "transcription error")
    type_into(qtbot, widget, "HR", "82")
    with qtbot.waitSignal(widget.sig_saved):
        qtbot.mouseClick(widget.findChild(QPushButton, "markComplete"), Qt.MouseButton.LeftButton)
    event = [e for e in store.audit_events(subject) if e.field_id == "HR"][-1]
    assert (event.old_json, event.new_json, event.reason) == ("80", "82", "transcription error")
    history: list[list[str]] = []
    widget.show_history("HR", history.append)
    qtbot.waitUntil(lambda: bool(history))
    assert len(history[0]) == 2 and "80 /min → 82 /min (transcription error)" in history[0][1]


def test_no_reason_no_save(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    from cik_ecrf.store.entry import SaveRequest

    subject = store.add_subject()
    store.save(SaveRequest(subject, "screening", "vitals", VITALS))
    widget = page(qtbot, store, worker, subject, ask_reason=lambda: None)
    type_into(qtbot, widget, "HR", "82")
    qtbot.mouseClick(widget.findChild(QPushButton, "markComplete"), Qt.MouseButton.LeftButton)
    assert store.subject_values(subject)[1][0]["values"]["HR"] == 80


def test_a_draft_save_says_saved(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    subject = store.add_subject()
    widget = page(qtbot, store, worker, subject, form="consent")
    type_into(qtbot, widget, "ICFVER", "v1")
    type_into(qtbot, widget, "ICFDAT", "2026-01-10")
    with qtbot.waitSignal(widget.sig_saved):
        qtbot.mouseClick(widget.findChild(QPushButton, "saveDraft"), Qt.MouseButton.LeftButton)
    assert "Saved" in widget.notice.text() and "draft" in widget.notice.text()


def test_a_store_refusal_is_shown_on_the_page_and_nothing_saved(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    subject = store.add_subject()
    widget = page(qtbot, store, worker, subject)
    type_into(qtbot, widget, "TEMP", "50")
    with qtbot.waitSignal(widget.sig_refused) as refused:
        qtbot.mouseClick(widget.findChild(QPushButton, "saveDraft"), Qt.MouseButton.LeftButton)
    assert any(line.startswith("TEMP: 50 is above the maximum 45") for line in refused.args[0])
    assert "TEMP: 50 is above" in widget.notice.text()
    assert store.subject_values(subject)[1] == []


def test_history_opens_from_the_button_and_ctrl_h_with_labels_not_codes(
    qtbot: Any, store: Store, worker: StoreWorker
) -> None:
    from PySide6.QtWidgets import QComboBox, QMessageBox

    from cik_ecrf.store.entry import SaveRequest

    subject = store.add_subject()
    store.save(SaveRequest(subject, "screening", "vitals", VITALS))
    widget = page(qtbot, store, worker, subject, ask_reason=lambda: "re-assessed")
    widget.activateWindow()
    combo = widget.view.findChild(QComboBox, "ECOG_combo")
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    with qtbot.waitSignal(widget.sig_saved):
        qtbot.keyClick(combo, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # complete: saved complete again
    assert widget.status == "complete"
    qtbot.keyClick(combo, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: widget.findChild(QMessageBox, "fieldHistory") is not None)
    box = widget.findChild(QMessageBox, "fieldHistory")
    assert "ECOG" in box.windowTitle() and "(research nurse)" in box.text()
    assert "1 – Restricted" in box.text() and "2 – " in box.text() and "(re-assessed)" in box.text()
    box.close()
    box.deleteLater()
    qtbot.waitUntil(lambda: widget.findChild(QMessageBox, "fieldHistory") is None)
    assert widget.history_button.focusPolicy() == Qt.FocusPolicy.NoFocus  # the cursor stays in the field
    qtbot.mouseClick(widget.history_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.findChild(QMessageBox, "fieldHistory") is not None)
