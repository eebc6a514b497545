"""Idle lock: input keeps it away, silence brings it, and it hides patient data without losing any."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QElapsedTimer, Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QMainWindow, QPushButton, QVBoxLayout, QWidget
from stores import store_with_nurse

from cik_ecrf.definitions.spec import StudyDefinition
from cik_ecrf.rules import Clock, RulesEngine
from cik_ecrf.store.api import Store
from cik_ecrf.ui.form_view import FormView
from cik_ecrf.ui.idle import IdleLock, LockScreen
from cik_ecrf.ui.worker import StoreWorker

ADMIN_PW = "Kettle-9-lantern"
NURSE_PW = "Harbour-4-willow"
FIRST_PW = "Temporary-7-pass"


@pytest.fixture
def store_dir(tmp_path: Path, study: StudyDefinition) -> Path:
    directory = tmp_path / "store"
    store_with_nurse(directory, study, None, ("admin", ADMIN_PW), ("nurse", FIRST_PW, NURSE_PW), site="SH01")
    return directory


@pytest.fixture
def idle() -> Iterator[IdleLock]:
    lock = IdleLock(msec=50)
    yield lock
    lock.stop()


class Ward(QWidget):
    """A stand-in window with patient data on it."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.patient = QLabel("Wang Li, 54 y, MRN 0012345")
        self.patient.setObjectName("patientName")
        self.note = QLineEdit()
        self.note.setObjectName("note")
        layout.addWidget(self.patient)
        layout.addWidget(self.note)
        self.resize(600, 400)


def sign_in(qtbot: Any, screen: LockScreen, user: str, password: str) -> Store:
    screen.findChild(QLineEdit, "loginUser").setText(user)
    qtbot.keyClicks(screen.findChild(QLineEdit, "loginPassword"), password)
    with qtbot.waitSignal(screen.sig_unlocked, timeout=10_000) as blocker:
        qtbot.mouseClick(screen.findChild(QPushButton, "loginButton"), Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_the_lock_is_requested_after_the_idle_time(qtbot: Any, idle: IdleLock) -> None:
    with qtbot.waitSignal(idle.sig_lock_requested, timeout=2000):
        idle.start()
    assert not idle.armed and idle.remaining_ms() == -1


def test_input_postpones_the_lock(qtbot: Any) -> None:
    window = Ward()
    qtbot.addWidget(window)
    window.show()
    idle = IdleLock(msec=400)
    fired: list[int] = []
    clock = QElapsedTimer()
    idle.sig_lock_requested.connect(lambda: fired.append(clock.elapsed()))
    clock.start()
    idle.start()
    try:
        qtbot.waitUntil(lambda: clock.elapsed() >= 100)
        qtbot.keyClick(window.note, Qt.Key.Key_A)
        typed_at = clock.elapsed()
        assert fired == [] and idle.remaining_ms() > 300
        qtbot.waitUntil(lambda: clock.elapsed() >= 250)
        qtbot.mouseClick(window.note, Qt.MouseButton.LeftButton)
        clicked_at = clock.elapsed()
        assert fired == [] and idle.remaining_ms() > 300
        qtbot.waitUntil(lambda: fired != [], timeout=3000)
        assert fired[0] >= clicked_at + 390 > typed_at + 390
    finally:
        idle.stop()


def test_input_after_the_lock_does_not_rearm_it_until_started_again(qtbot: Any, idle: IdleLock) -> None:
    window = Ward()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(idle.sig_lock_requested, timeout=2000):
        idle.start()
    qtbot.keyClick(window.note, Qt.Key.Key_A)
    assert idle.remaining_ms() == -1
    with qtbot.waitSignal(idle.sig_lock_requested, timeout=2000):
        idle.start()


def test_the_idle_time_is_set_in_minutes_or_milliseconds() -> None:
    assert IdleLock().interval_ms == 5 * 60_000
    assert IdleLock(0.5).interval_ms == 30_000
    assert IdleLock(msec=50).interval_ms == 50
    with pytest.raises(ValueError):
        IdleLock(0)


def test_the_lock_screen_hides_patient_data_and_another_user_unlocks(
    qtbot: Any, idle: IdleLock, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    window = Ward()
    qtbot.addWidget(window)
    screen = LockScreen(window, store_dir, worker, study)
    screen.watch(idle, lambda: "admin")
    window.show()
    assert window.patient.isVisible() and not screen.isVisible()
    idle.start()
    qtbot.waitUntil(lambda: screen.locked, timeout=2000)
    assert screen.objectName() == "lockScreen" and screen.isVisible()
    assert not window.patient.isVisible() and not window.note.isVisible()
    assert screen.geometry() == window.rect()
    assert screen.findChild(QLineEdit, "loginUser").text() == "admin"  # offered, not imposed
    assert window.focusWidget() is screen.findChild(QLineEdit, "loginPassword")

    store = sign_in(qtbot, screen, "nurse", NURSE_PW)
    assert store.actor.username == "nurse"
    assert not screen.locked and not screen.isVisible()
    assert window.patient.isVisible()
    assert idle.armed  # counting again
    store.close()


def test_a_wrong_password_keeps_the_window_locked(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    window = Ward()
    qtbot.addWidget(window)
    screen = LockScreen(window, store_dir, worker, study)
    window.show()
    screen.lock("admin")
    qtbot.keyClicks(screen.findChild(QLineEdit, "loginPassword"), "Wrong-password-1")
    with qtbot.waitSignal(screen.panel.sig_refused):
        qtbot.keyClick(screen.findChild(QLineEdit, "loginPassword"), Qt.Key.Key_Return)
    assert screen.locked and screen.isVisible() and not window.patient.isVisible()
    assert screen.findChild(QLabel, "loginMessage").text() == "unknown user or wrong password"


def test_typed_form_input_survives_lock_and_unlock(
    qtbot: Any, engine: RulesEngine, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    form = FormView(engine, "vitals", "screening", clock=Clock.fixed("2026-02-01T10:00+08:00"))
    window.setCentralWidget(form)
    screen = LockScreen(window, store_dir, worker, study)
    window.resize(800, 600)
    window.show()
    heart_rate = form.findChild(QLineEdit, "HR_edit")
    qtbot.keyClicks(heart_rate, "88")
    heart_rate.setFocus()

    screen.lock("admin")
    assert not form.isVisible() and not heart_rate.isVisible()
    window.resize(900, 700)
    qtbot.waitUntil(lambda: screen.geometry() == window.rect())

    store = sign_in(qtbot, screen, "admin", ADMIN_PW)
    assert store.actor.username == "admin"
    assert form.isVisible() and heart_rate.text() == "88"
    assert window.focusWidget() is heart_rate  # back where the nurse was typing
    assert form.values()["HR"] == "88"
    store.close()


def test_the_chinese_lock_screen_loads(
    qtbot: Any, store_dir: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    window = Ward()
    qtbot.addWidget(window)
    screen = LockScreen(window, store_dir, worker, study, "zh")
    window.show()
    screen.lock()
    assert "已锁定" in screen.findChild(QLabel, "lockTitle").text()
    assert screen.findChild(QPushButton, "loginButton").text() == "登录"
    assert window.focusWidget() is screen.findChild(QLineEdit, "loginUser")
