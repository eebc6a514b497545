"""Settings: switching language redraws every page at once, keeping a half-filled form; idle time applies."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QToolBar,
)

from cik_ecrf.client_settings import ClientSettings, load_settings
from cik_ecrf.ui.app import MainWindow
from cik_ecrf.ui.form_page import FormPage
from cik_ecrf.ui.settings_dialog import SettingsDialog
from cik_ecrf.ui.texts import install_language


def _header_texts(table: QTableWidget) -> list[str]:
    header: QHeaderView = table.horizontalHeader()
    return [table.horizontalHeaderItem(i).text() for i in range(header.count())]


def test_language_switch_keeps_unsaved_input_and_redraws_in_chinese(qtbot: Any, window: MainWindow) -> None:
    number = window.subject_list.findChild(QTableWidget, "subjectTable").item(0, 0).text()
    window.open_subject(number)
    page = window.open_form(number, "screening", "vitals", None)
    page.ask_leave = lambda: "discard"  # at the window's close after the test (the unsaved-input prompt)
    qtbot.waitUntil(lambda: page.view is not None)
    edit = page.findChild(QLineEdit, "HR_edit")
    edit.clear()
    qtbot.keyClicks(edit, "188")  # unsaved, and outside the soft range: a warning shows
    qtbot.waitUntil(lambda: page.findChild(QLabel, "HR_message").isVisible())
    english_label = page.findChild(QLabel, "HR_label").text()

    dialog = SettingsDialog(window.settings, window)
    dialog.findChild(QComboBox, "settingsLanguage").setCurrentIndex(1)
    dialog.findChild(QDoubleSpinBox, "settingsIdleMinutes").setValue(2)
    try:
        window.apply_settings(dialog.chosen())
        qtbot.waitUntil(lambda: window.subject_list.findChild(QTableWidget, "subjectTable").rowCount() == 4)  # reloaded
        assert window.stack.currentWidget() is page  # still on the form being filled in
        assert page.findChild(QLineEdit, "HR_edit").text() == "188"
        assert page.findChild(QLabel, "HR_label").text() != english_label
        assert page.findChild(QLabel, "HR_label").text().startswith("心率")
        assert page.findChild(QLabel, "HR_message").isVisible()  # the warning, re-evaluated, in Chinese
        toolbar = window.findChild(QToolBar, "mainToolbar")
        actions = {a.objectName(): a.text() for a in toolbar.actions() if a.objectName()}
        assert actions == {
            "showSubjects": "受试者",
            "back": "返回",
            "showDashboard": "研究总览",
            "showWorklist": "质疑",
            "syncNow": "立即同步",
            "showConflicts": "冲突",
            "openSettings": "设置",
            "lockNow": "立即锁定",
            "signOut": "退出登录",
        }
        assert window.sync_indicator.text().startswith("○ 未连接服务器 · ")
        assert _header_texts(window.subject_list.findChild(QTableWidget, "subjectTable"))[0] == "受试者编号"
        assert window.lock_screen.findChild(QLabel, "lockTitle").text().endswith("</h2>")
        assert "锁定" in window.lock_screen.findChild(QLabel, "lockTitle").text()
        assert window.idle.interval_ms == 2 * 60_000
        assert load_settings(window.settings_dir).settings == ClientSettings(language="zh", idle_minutes=2)
        assert isinstance(window.stack.currentWidget(), FormPage)
    finally:
        install_language(QApplication.instance(), "en")  # the application-wide translator, for later tests


def test_settings_dialog_shows_the_current_settings_and_cancel_changes_nothing(qtbot: Any, window: MainWindow) -> None:
    dialog = SettingsDialog(ClientSettings(language="zh", idle_minutes=7), window)
    assert dialog.findChild(QComboBox, "settingsLanguage").currentData() == "zh"
    assert dialog.findChild(QDoubleSpinBox, "settingsIdleMinutes").value() == 7
    assert dialog.windowTitle() == "设置"
    dialog.findChild(QDoubleSpinBox, "settingsIdleMinutes").setValue(30)
    dialog.findChild(QDialogButtonBox, "settingsButtons").rejected.emit()
    assert not dialog.result()
    assert window.idle.interval_ms == 60 * 60_000 and window.settings.language == "en"
