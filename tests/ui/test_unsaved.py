"""Nothing typed is lost or credited to the wrong user: Back, closing, the idle lock, a change of language."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLineEdit, QPushButton

from cik_ecrf.demo import INVESTIGATOR, INVESTIGATOR_PASSWORD, NURSE, NURSE_PASSWORD
from cik_ecrf.ui.app import MainWindow
from cik_ecrf.ui.form_page import FormPage


def new_form(qtbot: Any, window: MainWindow, form: str = "vitals") -> FormPage:
    subject = window.store.add_subject()
    window.open_subject(subject)
    page = window.open_form(subject, "screening", form, None)
    qtbot.waitUntil(lambda: page.view is not None and page.history_button.isEnabled())
    page.ask_leave = lambda: "discard"  # at the window's close after the test
    return page


def type_into(qtbot: Any, page: FormPage, field: str, text: str) -> None:
    edit = page.view.findChild(QLineEdit, f"{field}_edit")
    edit.clear()
    qtbot.keyClicks(edit, text)


def unlock(qtbot: Any, window: MainWindow, user: str, password: str) -> None:
    panel = window.lock_screen
    panel.findChild(QLineEdit, "loginUser").setText(user)
    panel.findChild(QLineEdit, "loginPassword").setText(password)
    with qtbot.waitSignal(panel.sig_unlocked, timeout=20_000):
        qtbot.mouseClick(panel.findChild(QPushButton, "loginButton"), Qt.MouseButton.LeftButton)


def test_the_header_says_unsaved_and_back_asks_before_dropping_anything(qtbot: Any, window: MainWindow) -> None:
    page = new_form(qtbot, window)
    assert "Unsaved changes" not in page.notice.text()
    type_into(qtbot, page, "HR", "88")
    assert "Unsaved changes" in page.notice.text() and page.has_unsaved_changes()
    answers = iter(["cancel", "discard"])
    asked: list[str] = []
    page.ask_leave = lambda: asked.append("asked") or next(answers)
    window.back()
    assert window.stack.currentWidget() is page and page.view.findChild(QLineEdit, "HR_edit").text() == "88"
    window.back()
    assert asked == ["asked", "asked"] and window.stack.currentWidget() is window.subject_view
    assert window.store.subject_values(page.subject)[1] == []  # discarded, as the nurse said


def test_back_with_save_keeps_the_input_in_the_store(qtbot: Any, window: MainWindow) -> None:
    page = new_form(qtbot, window)
    type_into(qtbot, page, "HR", "88")
    page.ask_leave = lambda: "save"
    window.back()  # waits for the store's answer before the page goes
    assert window.stack.currentWidget() is window.subject_view
    rows = window.store.subject_values(page.subject)[1]
    assert rows[0]["values"]["HR"] == 88 and rows[0]["status"] == "draft"


def test_closing_the_window_with_unsaved_input_asks_and_can_stay(qtbot: Any, window: MainWindow) -> None:
    page = new_form(qtbot, window)
    type_into(qtbot, page, "HR", "88")
    page.ask_leave = lambda: "cancel"
    event = QCloseEvent()
    window.closeEvent(event)
    assert not event.isAccepted() and window.isVisible()
    assert page.view.findChild(QLineEdit, "HR_edit").text() == "88"
    page.ask_leave = lambda: "discard"


def test_a_change_of_language_keeps_a_typed_time_as_typed(qtbot: Any, window: MainWindow) -> None:
    page = new_form(qtbot, window)
    type_into(qtbot, page, "VSDAT", "2026-01-11 09:00")
    type_into(qtbot, page, "HR", "8o")  # unreadable text is kept too
    window.set_language("zh")
    assert page.view.findChild(QLineEdit, "VSDAT_edit").text() == "2026-01-11 09:00"
    assert page.view.findChild(QLineEdit, "HR_edit").text() == "8o"
    assert page.has_unsaved_changes() and "未保存" in page.notice.text()
    page.ask_leave = lambda: "discard"


def test_after_the_lock_only_the_same_user_gets_the_unsaved_input_back(qtbot: Any, window: MainWindow) -> None:
    page = new_form(qtbot, window)
    type_into(qtbot, page, "HR", "88")
    assert not page.sign_button.isEnabled()
    window.sig_lock_requested.emit()
    unlock(qtbot, window, INVESTIGATOR, INVESTIGATOR_PASSWORD)
    assert window.store.actor.username == INVESTIGATOR
    qtbot.waitUntil(lambda: page.view.isEnabled() and page.view.findChild(QLineEdit, "HR_edit").text() == "")
    assert not page.has_unsaved_changes()  # a clean form: the investigator cannot save the nurse's typing
    type_into(qtbot, page, "TEMP", "37.5")  # the investigator's own, unsaved, input

    window.sig_lock_requested.emit()
    unlock(qtbot, window, NURSE, NURSE_PASSWORD)
    qtbot.waitUntil(lambda: page.view.isEnabled() and page.view.findChild(QLineEdit, "HR_edit").text() == "88")
    assert page.view.findChild(QLineEdit, "TEMP_edit").text() == ""  # not the investigator's
    assert page.has_unsaved_changes() and "back" in page.notice.text()
    assert not page.sign_button.isEnabled()
    assert window.store.subject_values(page.subject)[1] == []  # nothing was saved by anyone
    window.sig_lock_requested.emit()
    unlock(qtbot, window, INVESTIGATOR, INVESTIGATOR_PASSWORD)
    qtbot.waitUntil(lambda: page.view.isEnabled() and page.view.findChild(QLineEdit, "TEMP_edit").text() == "37.5")
    assert page.view.findChild(QLineEdit, "HR_edit").text() == ""


def test_sign_follows_the_current_users_role_after_a_switch(qtbot: Any, window: MainWindow) -> None:
    page = window.open_form("DEMO-D1-0002", "screening", "vitals", None)
    qtbot.waitUntil(lambda: page.view is not None and page.print_button.isEnabled())
    assert not page.sign_button.isEnabled()
    window.sig_lock_requested.emit()
    unlock(qtbot, window, INVESTIGATOR, INVESTIGATOR_PASSWORD)
    qtbot.waitUntil(page.sign_button.isEnabled)
    window.sig_lock_requested.emit()
    unlock(qtbot, window, NURSE, NURSE_PASSWORD)
    qtbot.waitUntil(lambda: not page.sign_button.isEnabled())
