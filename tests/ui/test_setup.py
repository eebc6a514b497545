"""First run: the set-up dialog creates a real store through the worker, or says why it will not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton

from cik_ecrf.definitions.spec import StudyDefinition
from cik_ecrf.store.api import Store
from cik_ecrf.ui.setup import FirstRunDialog, store_exists
from cik_ecrf.ui.worker import StoreWorker

PASSWORD = "Kettle-9-lantern"


def dialog(qtbot: Any, directory: Path, worker: StoreWorker, language: str = "en") -> FirstRunDialog:
    widget = FirstRunDialog(directory, worker, language)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def fill(qtbot: Any, widget: FirstRunDialog, **values: str) -> None:
    for name, text in values.items():
        box = widget.findChild(QLineEdit, name)
        assert box is not None, name
        box.clear()
        qtbot.keyClicks(box, text)


def text(widget: FirstRunDialog, name: str) -> str:
    return widget.findChild(QLineEdit, name).text()


def create(qtbot: Any, widget: FirstRunDialog) -> None:
    qtbot.mouseClick(widget.findChild(QPushButton, "setupCreate"), Qt.MouseButton.LeftButton)


def test_the_dialog_creates_a_store_that_its_administrator_can_open(
    qtbot: Any, tmp_path: Path, worker: StoreWorker, study: StudyDefinition
) -> None:
    directory = tmp_path / "data"
    assert not store_exists(directory)
    setup = dialog(qtbot, directory, worker)
    fill(
        qtbot,
        setup,
        setupSite="sh01",
        setupDevice="lap1",
        setupAdmin="ada",
        setupFullName="Ada Lovelace",
        setupPassword=PASSWORD,
        setupPasswordAgain=PASSWORD,
    )
    with qtbot.waitSignal(setup.sig_store_created, timeout=10_000) as blocker:
        create(qtbot, setup)
    assert blocker.args == [str(directory)]
    assert (directory / "keyring.json").exists() and (directory / "store.db").exists()
    assert store_exists(directory)
    assert setup.result() == QDialog.DialogCode.Accepted
    assert setup.info is not None and (setup.info.site, setup.info.device_code) == ("SH01", "LAP1")
    assert text(setup, "setupPassword") == text(setup, "setupPasswordAgain") == ""
    with Store.open(directory, "ada", PASSWORD, study) as store:
        assert store.actor.role == "admin"


def test_the_device_code_is_optional(qtbot: Any, tmp_path: Path, worker: StoreWorker) -> None:
    setup = dialog(qtbot, tmp_path / "data", worker)
    fill(qtbot, setup, setupSite="SH02", setupAdmin="ada", setupPassword=PASSWORD, setupPasswordAgain=PASSWORD)
    with qtbot.waitSignal(setup.sig_store_created, timeout=10_000):
        qtbot.keyClick(setup.findChild(QLineEdit, "setupPasswordAgain"), Qt.Key.Key_Return)
    assert setup.info is not None and len(setup.info.device_code) == 4


def test_a_weak_password_is_refused_with_a_message_and_nothing_is_created(
    qtbot: Any, tmp_path: Path, worker: StoreWorker
) -> None:
    directory = tmp_path / "data"
    setup = dialog(qtbot, directory, worker)
    created: list[str] = []
    setup.sig_store_created.connect(created.append)
    fill(qtbot, setup, setupSite="SH01", setupAdmin="ada", setupPassword="short1", setupPasswordAgain="short1")
    with qtbot.waitSignal(setup.sig_refused) as blocker:
        create(qtbot, setup)
    assert blocker.args[0] == "password too weak: at least 10 characters"
    assert setup.findChild(QLabel, "setupMessage").text() == blocker.args[0]
    assert not store_exists(directory) and created == []
    assert text(setup, "setupSite") == "SH01" and text(setup, "setupAdmin") == "ada"
    assert text(setup, "setupPassword") == ""  # to be typed again
    assert setup.isVisible() and setup.findChild(QPushButton, "setupCreate").isEnabled()


def test_a_bad_site_code_is_refused_and_the_passwords_are_kept(qtbot: Any, tmp_path: Path, worker: StoreWorker) -> None:
    setup = dialog(qtbot, tmp_path / "data", worker)
    fill(qtbot, setup, setupSite="SH 01!", setupAdmin="ada", setupPassword=PASSWORD, setupPasswordAgain=PASSWORD)
    with qtbot.waitSignal(setup.sig_refused) as blocker:
        create(qtbot, setup)
    assert "site code" in blocker.args[0]
    assert text(setup, "setupPassword") == PASSWORD


def test_different_passwords_are_refused_before_the_store_is_asked(
    qtbot: Any, tmp_path: Path, worker: StoreWorker
) -> None:
    setup = dialog(qtbot, tmp_path / "data", worker)
    fill(qtbot, setup, setupSite="SH01", setupAdmin="ada", setupPassword=PASSWORD, setupPasswordAgain=PASSWORD + "x")
    with qtbot.waitSignal(setup.sig_refused) as blocker:
        create(qtbot, setup)
    assert blocker.args[0] == "The two passwords differ."
    assert worker.pending == 0


def test_an_existing_store_is_not_overwritten(qtbot: Any, tmp_path: Path, worker: StoreWorker) -> None:
    directory = tmp_path / "data"
    Store.init(directory, "SH01", "ada", PASSWORD)
    setup = dialog(qtbot, directory, worker)
    fill(qtbot, setup, setupSite="SH09", setupAdmin="bob", setupPassword=PASSWORD, setupPasswordAgain=PASSWORD)
    with qtbot.waitSignal(setup.sig_refused) as blocker:
        create(qtbot, setup)
    assert blocker.args[0].endswith("a store already exists here")


def test_the_chinese_dialog_refuses_in_chinese(qtbot: Any, tmp_path: Path, worker: StoreWorker) -> None:
    setup = dialog(qtbot, tmp_path / "data", worker, "zh")
    assert setup.findChild(QPushButton, "setupCreate").text() == "创建"
    fill(
        qtbot, setup, setupSite="SH01", setupAdmin="ada", setupPassword="abcdefghijk", setupPasswordAgain="abcdefghijk"
    )
    with qtbot.waitSignal(setup.sig_refused) as blocker:
        create(qtbot, setup)
    assert blocker.args[0] == "密码强度不足：须同时包含字母和数字"
