"""The login dialog: the store's own rules (wrong password, lockout, first password) through the worker."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton

from cik_ecrf.definitions.spec import StudyDefinition
from cik_ecrf.store.api import Store
from cik_ecrf.ui.login import LoginDialog, refusal_text
from cik_ecrf.ui.worker import StoreWorker

ADMIN_PW = "Kettle-9-lantern"
NURSE_PW = "Harbour-4-willow"
FIRST_PW = "Temporary-7-pass"


@pytest.fixture
def store_dir(tmp_path: Path, study: StudyDefinition) -> Path:
    """A real store: an administrator, a nurse with her own password, and a new user who has none yet."""
    directory = tmp_path / "store"
    Store.init(directory, "SH01", "admin", ADMIN_PW, "Ada Admin")
    with Store.open(directory, "admin", ADMIN_PW, study) as admin:
        admin.add_user("nurse", "nurse", FIRST_PW)
        admin.add_user("newbie", "nurse", FIRST_PW)
    with Store.open(directory, "nurse", FIRST_PW, study) as nurse:
        nurse.change_password(FIRST_PW, NURSE_PW)
    return directory


def dialog(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition, language: str = "en"
) -> LoginDialog:
    widget = LoginDialog(store_dir, worker, study, language)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def edit(widget: Any, name: str) -> QLineEdit:
    found = widget.findChild(QLineEdit, name)
    assert found is not None, name
    return found


def message(widget: Any) -> str:
    label = widget.findChild(QLabel, "loginMessage")
    assert label is not None
    return label.text()


def attempt(qtbot: Any, widget: Any, user: str, password: str) -> None:
    """Type a user name and password and press the sign-in button."""
    edit(widget, "loginUser").setText(user)
    password_edit = edit(widget, "loginPassword")
    password_edit.clear()
    qtbot.keyClicks(password_edit, password)
    qtbot.mouseClick(widget.findChild(QPushButton, "loginButton"), Qt.MouseButton.LeftButton)


def refused(qtbot: Any, widget: LoginDialog, user: str, password: str) -> str:
    with qtbot.waitSignal(widget.panel.sig_refused) as blocker:
        attempt(qtbot, widget, user, password)
    return blocker.args[0]


def test_a_correct_password_emits_the_open_store_of_that_user(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    login = dialog(qtbot, store_dir, worker, study)
    with qtbot.waitSignal(login.sig_logged_in, timeout=10_000) as blocker:
        attempt(qtbot, login, "nurse", NURSE_PW)
    store = blocker.args[0]
    assert isinstance(store, Store)
    assert store.actor.username == "nurse"
    assert edit(login, "loginPassword").text() == ""
    assert login.result() == QDialog.DialogCode.Accepted
    assert store.audit_events()[-1].action == "login"
    store.close()


def test_enter_in_the_password_field_signs_in_once(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    login = dialog(qtbot, store_dir, worker, study)
    stores: list[Store] = []
    login.sig_logged_in.connect(stores.append)
    qtbot.keyClicks(edit(login, "loginUser"), "admin")
    qtbot.keyClick(edit(login, "loginUser"), Qt.Key.Key_Return)  # moves on to the password
    qtbot.keyClicks(edit(login, "loginPassword"), ADMIN_PW)
    qtbot.keyClick(edit(login, "loginPassword"), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(stores) == 1 and worker.pending == 0, timeout=10_000)
    assert [s.actor.username for s in stores] == ["admin"]
    stores[0].close()


def test_a_wrong_password_shows_the_refusal_and_keeps_the_user_name(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    login = dialog(qtbot, store_dir, worker, study)
    logged_in: list[Store] = []
    login.sig_logged_in.connect(logged_in.append)
    text = refused(qtbot, login, "nurse", "Wrong-password-1")
    assert text == "unknown user or wrong password"
    assert message(login) == text
    assert edit(login, "loginUser").text() == "nurse"
    assert edit(login, "loginPassword").text() == ""
    assert login.findChild(QPushButton, "loginButton").isEnabled()
    assert login.isVisible() and logged_in == []


def test_five_failures_lock_the_account_and_say_until_when(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    login = dialog(qtbot, store_dir, worker, study)
    texts = [refused(qtbot, login, "nurse", f"Wrong-password-{i}") for i in range(5)]
    assert texts[:4] == ["unknown user or wrong password"] * 4
    assert texts[4] == "too many failed logins: nurse is locked for 15 minutes"
    # even the right password is refused now, with the time the lock ends
    text = refused(qtbot, login, "nurse", NURSE_PW)
    assert re.fullmatch(r"nurse is locked after repeated failed logins until \d\d:\d\d", text)
    assert message(login) == text
    assert edit(login, "loginUser").text() == "nurse"


def test_an_empty_password_is_refused_without_asking_the_store(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    login = dialog(qtbot, store_dir, worker, study)
    edit(login, "loginUser").setText("nurse")
    with qtbot.waitSignal(login.panel.sig_refused) as blocker:
        qtbot.mouseClick(login.findChild(QPushButton, "loginButton"), Qt.MouseButton.LeftButton)
    assert blocker.args[0] == "Enter your user name and password."
    assert worker.pending == 0


def test_a_new_user_chooses_a_password_and_ends_logged_in(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    login = dialog(qtbot, store_dir, worker, study)
    new, again = edit(login, "newPassword"), edit(login, "newPasswordAgain")
    assert not new.isVisible()
    attempt(qtbot, login, "newbie", FIRST_PW)
    qtbot.waitUntil(new.isVisible, timeout=10_000)
    assert again.isVisible() and not edit(login, "loginPassword").isVisible()
    assert "newbie" in login.findChild(QLabel, "changeIntro").text()

    qtbot.keyClicks(new, "Orchard-5-meadow")
    qtbot.keyClicks(again, "Orchard-5-meadoW")
    with qtbot.waitSignal(login.panel.sig_refused) as blocker:
        qtbot.keyClick(again, Qt.Key.Key_Return)
    assert blocker.args[0] == "The two new passwords differ."
    assert new.text() == again.text() == ""

    for box in (new, again):
        qtbot.keyClicks(box, "short1")
    with qtbot.waitSignal(login.panel.sig_refused) as blocker:
        qtbot.keyClick(again, Qt.Key.Key_Return)
    assert blocker.args[0].startswith("password too weak")
    assert new.isVisible()

    for box in (new, again):
        qtbot.keyClicks(box, "Orchard-5-meadow")
    with qtbot.waitSignal(login.sig_logged_in, timeout=10_000) as blocker:
        qtbot.keyClick(again, Qt.Key.Key_Return)
    store = blocker.args[0]
    assert store.actor.username == "newbie" and not store.must_change_password
    assert store.subject_numbers() == []  # usable: reading is refused before a password change
    assert login.panel._current is None and login.panel._store is None
    store.close()
    Store.open(store_dir, "newbie", "Orchard-5-meadow", study).close()


def test_cancelling_the_password_change_closes_that_store(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    login = dialog(qtbot, store_dir, worker, study)
    attempt(qtbot, login, "newbie", FIRST_PW)
    qtbot.waitUntil(edit(login, "newPassword").isVisible, timeout=10_000)
    login.reject()
    qtbot.waitUntil(lambda: worker.pending == 0)
    assert login.panel._current is None
    with Store.open(store_dir, "admin", ADMIN_PW, study) as admin:
        actions = [(e.action, e.username) for e in admin.audit_events()]
    assert actions[-2] == ("logout", "newbie")


def test_the_chinese_dialog_shows_refusals_in_chinese(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    login = dialog(qtbot, store_dir, worker, study, "zh")
    assert login.findChild(QPushButton, "loginButton").text() == "登录"
    assert refused(qtbot, login, "nurse", "Wrong-password-1") == "用户名或密码错误"
    assert (
        refusal_text("nurse is locked after repeated failed logins until 10:45", "zh")
        == "nurse 因多次登录失败已被锁定，10:45 后可再试"
    )
    assert (
        refusal_text("password too weak: at least 10 characters; both letters and digits", "zh")
        == "密码强度不足：至少 10 个字符；须同时包含字母和数字"
    )
    assert refusal_text("something new", "zh") == "something new"


def test_start_up_loads_the_forms_in_the_background_after_the_window_painted(
    qtbot: Any, store_dir: Path, worker: StoreWorker
) -> None:
    """`prepare_login` as the client starts: the sign-in then uses the forms loaded meanwhile."""
    from cik_ecrf.ui.launch import prepare_login

    login = prepare_login(store_dir, worker, "en")
    qtbot.addWidget(login)
    assert login.panel.study is None
    login.show()
    qtbot.waitUntil(lambda: login.panel.study is not None, timeout=20_000)
    loaded = login.panel.study
    assert isinstance(loaded, StudyDefinition) and "eligibility" in loaded.forms
    with qtbot.waitSignal(login.sig_logged_in) as signed_in:
        attempt(qtbot, login, "nurse", NURSE_PW)
    store = signed_in.args[0]
    try:
        assert store.study is loaded and store.actor.username == "nurse"
    finally:
        worker.submit(store.close)
