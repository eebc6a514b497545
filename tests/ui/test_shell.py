"""The window around the pages: Lock now, Sign out, Sync now explained offline, the dashboard page,
fitting a small screen, the demo signing in by itself, and naming missing X11 libraries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from cik_ecrf.demo import INVESTIGATOR, INVESTIGATOR_PASSWORD, NURSE, NURSE_PASSWORD
from cik_ecrf.ui import system_libraries
from cik_ecrf.ui.app import MainWindow
from cik_ecrf.ui.launch import prepare_login, sign_in_automatically
from cik_ecrf.ui.worker import StoreWorker


def test_lock_now_hides_the_pages_for_the_same_user(qtbot: Any, window: MainWindow) -> None:
    qtbot.keyClick(window.subject_list.table, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.lock_screen.locked and window.lock_screen.isVisible()
    assert not window.stack.isVisible()
    assert window.lock_screen.panel.user.text() == NURSE  # offered back to the nurse who locked it
    assert not window.actions_["lock"].icon().isNull()  # a drawn padlock, not an emoji box


def test_sign_out_asks_for_anyone_and_the_next_user_takes_over(qtbot: Any, window: MainWindow) -> None:
    window.actions_["sign_out"].trigger()
    panel = window.lock_screen.panel
    assert window.lock_screen.locked and panel.user.text() == ""
    qtbot.keyClicks(panel.user, INVESTIGATOR)
    qtbot.keyClicks(panel.password, INVESTIGATOR_PASSWORD)
    with qtbot.waitSignal(window.lock_screen.sig_unlocked, timeout=20000):
        qtbot.keyClick(panel.password, Qt.Key.Key_Return)
    assert window.store.actor.username == INVESTIGATOR and not window.lock_screen.locked
    assert "investigator" in window.user_label.text()


def test_sync_now_without_a_server_says_why_in_plain_words(qtbot: Any, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.sync.status is not None)
    waiting = window.sync.status.waiting
    assert waiting > 0  # the demo's saves were never sent
    assert f"{waiting} changes waiting" in window.sync_indicator.text()  # the count shows offline too
    tip = window.sync_indicator.toolTip()
    assert "not connected to the study server" in tip and "cik-ecrf" not in tip  # words, not a shell command
    with qtbot.waitSignal(window.sync.sig_outcome, timeout=30000):
        window.actions_["sync_now"].trigger()
    said = window.statusBar().currentMessage()
    assert f"{waiting} changes wait on this laptop and go out at the next connection." in said
    assert "not connected to the study server" in said


def test_dashboard_page_from_the_toolbar_and_back(qtbot: Any, window: MainWindow) -> None:
    window.actions_["dashboard"].trigger()
    page = window.dashboard
    assert page is not None and window.stack.currentWidget() is page
    qtbot.waitUntil(lambda: page.data is not None, timeout=20000)
    assert page.kpi["enrolled"].text().endswith("of 213 (0.9 %)")
    window.actions_["back"].trigger()
    assert window.stack.currentWidget() is window.subject_list


def test_the_window_fits_the_screen(qtbot: Any, window: MainWindow) -> None:
    window.fit_to_screen()
    available = window.screen().availableGeometry()
    assert window.width() <= available.width() and window.height() <= available.height()
    assert window.minimumSizeHint().height() <= 768 - 60  # a 1366×768 laptop with its task bar


def test_chinese_toolbar(qtbot: Any, window: MainWindow) -> None:
    window.set_language("zh")
    texts = {key: action.text() for key, action in window.actions_.items()}
    assert texts["lock"] == "立即锁定" and texts["sign_out"] == "退出登录" and texts["dashboard"] == "研究总览"


def test_demo_signs_in_by_itself(qtbot: Any, demo_template: Path, study: Any) -> None:
    worker = StoreWorker()
    try:
        login = prepare_login(demo_template, worker, "en", NURSE, study)
        qtbot.addWidget(login)
        login.show()
        with qtbot.waitSignal(login.sig_logged_in, timeout=20000) as signed_in:
            sign_in_automatically(login, NURSE_PASSWORD)
        store = signed_in.args[0]
        assert store.actor.username == NURSE and login.panel.password.text() == ""
        store.close()
    finally:
        worker.shutdown()


def test_missing_x11_libraries_are_named_with_their_packages() -> None:
    missing = system_libraries.missing_libraries(
        lambda soname: soname not in ("libxcb-cursor.so.0", "libxcb-icccm.so.4")
    )
    assert missing == {"libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4"}
    text = system_libraries.explain_missing(missing)
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in text
    assert text.endswith("sudo apt-get install libxcb-cursor0 libxcb-icccm4")
    assert system_libraries._loads("libc.so.6") and not system_libraries._loads("libcik-no-such-library.so.1")


def test_only_an_x11_start_is_checked() -> None:
    assert system_libraries.uses_xcb({}, "linux")
    assert system_libraries.uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not system_libraries.uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not system_libraries.uses_xcb({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not system_libraries.uses_xcb({}, "win32")
    assert system_libraries.check_before_qt({"QT_QPA_PLATFORM": "offscreen"}) is None
