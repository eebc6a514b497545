"""The client end to end on the demo store: subjects → schedule → form → save, and the idle lock."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton, QTableWidget

from cik_ecrf.ui.app import MainWindow
from cik_ecrf.ui.form_page import FormPage


def double_click(qtbot: Any, table: QTableWidget, row: int, column: int) -> None:
    rect = table.visualItemRect(table.item(row, column))
    point = rect.center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_subjects_to_schedule_to_form_and_save(qtbot: Any, window: MainWindow) -> None:
    table = window.subject_list.findChild(QTableWidget, "subjectTable")
    assert table.rowCount() == 4
    with qtbot.waitSignal(window.subject_list.sig_subject_opened) as opened:
        double_click(qtbot, table, 0, 0)
    assert window.subject_view is not None and opened.args[0] == window.subject_view.number
    qtbot.waitUntil(lambda: window.subject_view.grid.rowCount() > 0)  # the schedule loaded through the worker
    page = window.open_form(opened.args[0], "screening", "vitals", None)
    qtbot.waitUntil(lambda: page.view is not None)
    assert isinstance(window.stack.currentWidget(), FormPage)
    edit = page.findChild(QLineEdit, "HR_edit")
    edit.clear()
    qtbot.keyClicks(edit, "95")
    with qtbot.waitSignal(page.sig_saved):
        qtbot.mouseClick(page.findChild(QPushButton, "saveDraft"), Qt.MouseButton.LeftButton)
    _, rows = window.store.subject_values(opened.args[0])
    assert any(r["form"] == "vitals" and r["values"].get("HR") == 95 for r in rows)
    window.back()
    assert window.stack.currentWidget() is window.subject_view


def test_idle_lock_hides_the_pages_and_another_user_can_unlock(qtbot: Any, window: MainWindow, study: Any) -> None:
    from cik_ecrf.demo import ADMIN, ADMIN_PASSWORD

    window.sig_lock_requested.emit()
    assert window.lock_screen.locked and not window.stack.isVisible()
    user = window.lock_screen.findChild(QLineEdit, "loginUser")
    password = window.lock_screen.findChild(QLineEdit, "loginPassword")
    user.setText(ADMIN)
    password.setText(ADMIN_PASSWORD)
    with qtbot.waitSignal(window.lock_screen.sig_unlocked):
        qtbot.mouseClick(window.lock_screen.findChild(QPushButton, "loginButton"), Qt.MouseButton.LeftButton)
    assert window.stack.isVisible() and window.store.actor.username == ADMIN
    assert window.findChild(object, "currentUser").text().startswith("Signed in: demo.admin")
