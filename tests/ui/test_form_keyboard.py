"""A whole screening form from the keyboard alone: first field focused, Tab and Enter move on, radio
groups in their place, Ctrl+Enter marks complete, Ctrl+S saves; the wheel leaves unfocused lists alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QRadioButton
from stores import store_with_nurse

from cik_ecrf.rules import Clock, RulesEngine
from cik_ecrf.store.api import Store
from cik_ecrf.ui.form_page import FormPage
from cik_ecrf.ui.form_view import FormView
from cik_ecrf.ui.worker import StoreWorker

NURSE, NURSE_PW = "nina", "Nurse-pass-2024"


@pytest.fixture
def store(tmp_path: Path, study: Any) -> Any:
    directory = tmp_path / "store"
    store_with_nurse(directory, study, "UI01", ("admin", "Ward-pass-2024"), (NURSE, "First-pass-2024", NURSE_PW))
    opened = Store.open(directory, NURSE, NURSE_PW, study)
    yield opened
    opened.close()


def open_page(qtbot: Any, store: Store, worker: StoreWorker, form: str) -> FormPage:
    page = FormPage(store, worker, store.add_subject(), "screening", form)
    qtbot.addWidget(page)
    page.resize(1000, 700)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(lambda: page.view is not None)
    return page


def focused() -> Any:
    return QApplication.focusWidget()


def type_and(qtbot: Any, text: str, key: Qt.Key = Qt.Key.Key_Tab) -> None:
    qtbot.keyClicks(focused(), text)
    qtbot.keyClick(focused(), key)


def test_consent_is_filled_in_and_completed_from_the_keyboard(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    page = open_page(qtbot, store, worker, "consent")
    view = page.view
    qtbot.waitUntil(lambda: focused() is view.findChild(QLineEdit, "ICFVER_edit"))  # the first field, on open
    type_and(qtbot, "v2.1")
    assert focused() is view.findChild(QLineEdit, "ICFDAT_edit")
    type_and(qtbot, "2026-01-10", Qt.Key.Key_Return)  # Enter advances too
    assert focused() is view.findChild(QRadioButton, "SUBJSIGN_Y")
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    # GRDSIGN is hidden (no age yet): Tab skips it and lands on the next shown field
    assert focused() is view.findChild(QRadioButton, "LTFUCONS_Y")
    qtbot.keyClick(focused(), Qt.Key.Key_Space)
    qtbot.keyClick(focused(), Qt.Key.Key_Right)  # the second choice: "No"
    assert view.findChild(QRadioButton, "LTFUCONS_N").isChecked()
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)  # from a radio other than the first: the next stop, not the end
    assert focused() is view.draft_button
    qtbot.keyClick(focused(), Qt.Key.Key_Backtab)
    assert focused() is view.findChild(QRadioButton, "LTFUCONS_N")  # the group is one stop, at its choice
    assert "Unsaved changes" in page.notice.text()
    with qtbot.waitSignal(page.sig_saved) as saved:
        qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert saved.args[0].status == "complete"
    values = store.subject_values(page.subject)[1][0]["values"]
    assert values["ICFVER"] == "v2.1" and values["SUBJSIGN"] == "Y" and values["LTFUCONS"] == "N"
    assert "Unsaved changes" not in page.notice.text() and "Saved" in page.notice.text()


def test_vitals_with_drop_downs_from_the_keyboard_and_ctrl_s_saves_a_draft(
    qtbot: Any, store: Store, worker: StoreWorker
) -> None:
    page = open_page(qtbot, store, worker, "vitals")
    view = page.view
    qtbot.waitUntil(lambda: focused() is view.findChild(QLineEdit, "VSDAT_edit"))
    for text in ("2026-01-11 09:00", "37.2", "80", "20", "110", "70", "98"):
        type_and(qtbot, text)
    combo = view.findChild(QComboBox, "O2SUPP_combo")
    assert focused() is combo
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    qtbot.keyClick(combo, Qt.Key.Key_Tab)
    for text in ("40.5", "150"):
        type_and(qtbot, text)
    assert focused() is view.findChild(QComboBox, "ECOG_combo")  # the derived BSA is not a stop
    qtbot.keyClick(focused(), Qt.Key.Key_Down)
    with qtbot.waitSignal(page.sig_saved) as saved:
        qtbot.keyClick(focused(), Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert saved.args[0].status == "draft"
    values = store.subject_values(page.subject)[1][0]["values"]
    assert values["HR"] == 80 and values["O2SUPP"] is not None and values["ECOG"] == 0
    assert view.findChild(QLineEdit, "VSDAT_edit").text() == "2026-01-11 09:00"


def test_escape_and_alt_left_ask_to_go_back(qtbot: Any, store: Store, worker: StoreWorker) -> None:
    page = open_page(qtbot, store, worker, "consent")
    qtbot.waitUntil(lambda: focused() is page.view.findChild(QLineEdit, "ICFVER_edit"))
    for key, modifier in (
        (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier),
    ):
        with qtbot.waitSignal(page.sig_back_requested):
            qtbot.keyClick(focused(), key, modifier)


def test_the_wheel_changes_a_drop_down_only_once_it_has_focus(qtbot: Any, engine: RulesEngine) -> None:
    view = FormView(engine, "adverse_events", "subject", clock=Clock.fixed("2026-02-01T10:00+08:00"))
    qtbot.addWidget(view)
    view.show()
    combos = [c for c in view.findChildren(QComboBox) if c.isVisibleTo(view)]
    combo = combos[0]
    combo.setCurrentIndex(3)
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus

    def wheel() -> None:
        centre = QPointF(combo.rect().center())
        event = QWheelEvent(
            centre,
            QPointF(combo.mapToGlobal(combo.rect().center())),
            QPoint(0, 0),
            QPoint(0, -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(combo, event)

    wheel()
    assert combo.currentIndex() == 3  # scrolling past it changed nothing
    view.activateWindow()
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    wheel()
    assert combo.currentIndex() == 4
