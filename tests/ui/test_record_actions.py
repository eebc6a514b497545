"""Sign and Print in the client: the session's re-authentication rule, refusals, re-signing, PDF output."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton

from cik_ecrf.demo import INVESTIGATOR, INVESTIGATOR_PASSWORD
from cik_ecrf.store.api import Store
from cik_ecrf.ui.app import MainWindow
from cik_ecrf.ui.form_page import FormPage
from cik_ecrf.ui.printing import PrintFailed, spool_command
from cik_ecrf.ui.record_actions import PrintChoice, RecordScope
from cik_ecrf.ui.sign_dialog import SignDialog, SignInput
from cik_ecrf.ui.worker import StoreWorker

SUBJECT = "DEMO-D1-0002"  # eligible: its screening forms are complete


@pytest.fixture
def investigator_window(qtbot: Any, demo_template: Path, tmp_path: Path, study: Any) -> MainWindow:
    directory = tmp_path / "store"
    shutil.copytree(demo_template, directory)
    store = Store.open(directory, INVESTIGATOR, INVESTIGATOR_PASSWORD, study)
    main = MainWindow(store, StoreWorker(), idle_minutes=60, settings_dir=directory)
    qtbot.addWidget(main)
    main.show()
    return main


class Signer:
    """Answers the signature dialog as an investigator would, noting whether the user id was asked."""

    def __init__(self, password: str = INVESTIGATOR_PASSWORD, meaning: str = "approve") -> None:
        self.password, self.meaning, self.asked_user = password, meaning, []

    def __call__(self, scope: RecordScope, username: str, ask_user: bool) -> SignInput:
        self.asked_user.append(ask_user)
        return SignInput(self.meaning, self.password, username if ask_user else None)


def open_form(qtbot: Any, window: MainWindow, visit: str, form: str) -> FormPage:
    page = window.open_form(SUBJECT, visit, form, None)
    qtbot.waitUntil(lambda: page.view is not None and page.sign_button.isEnabled())
    return page


def sign(qtbot: Any, page: FormPage, signer: Signer) -> Any:
    page.actions.ask_signature = signer
    with qtbot.waitSignal(page.actions.sig_signed, timeout=20_000) as signed:
        qtbot.mouseClick(page.sign_button, Qt.MouseButton.LeftButton)
    return signed.args[0]


def test_first_signing_asks_user_id_then_password_alone_until_the_lock(
    qtbot: Any, investigator_window: MainWindow
) -> None:
    window = investigator_window
    signer = Signer()
    vitals = open_form(qtbot, window, "screening", "vitals")
    result = sign(qtbot, vitals, signer)
    assert result.signature.meaning == "approve" and result.signature.full_name == "Dr Demo Investigator"
    assert vitals.status == "signed"
    qtbot.waitUntil(lambda: vitals.signature_info.isVisible())
    assert "Signed by Dr Demo Investigator (investigator)" in vitals.signature_info.text()
    assert "I have reviewed and approve the content of this record." in vitals.signature_info.text()

    labs = open_form(qtbot, window, "screening", "labs")
    sign(qtbot, labs, signer)
    assert signer.asked_user == [True, False]  # same session: the password alone

    window.sig_lock_requested.emit()  # idle lock: both again afterwards
    panel = window.lock_screen
    panel.findChild(QLineEdit, "loginUser").setText(INVESTIGATOR)
    panel.findChild(QLineEdit, "loginPassword").setText(INVESTIGATOR_PASSWORD)
    with qtbot.waitSignal(panel.sig_unlocked, timeout=20_000):
        qtbot.mouseClick(panel.findChild(QPushButton, "loginButton"), Qt.MouseButton.LeftButton)
    signer.meaning = "review"
    sign(qtbot, labs, signer)
    assert signer.asked_user == [True, False, True]
    signatures = window.store.signatures(SUBJECT)
    assert sorted(s.meaning for s in signatures if s.active) == ["approve", "approve", "review"]


def test_a_wrong_password_signs_nothing_and_says_so(qtbot: Any, investigator_window: MainWindow) -> None:
    page = open_form(qtbot, investigator_window, "screening", "vitals")
    page.actions.ask_signature = Signer(password="Not-the-password-1")
    with qtbot.waitSignal(page.actions.sig_refused, timeout=20_000) as refused:
        qtbot.mouseClick(page.sign_button, Qt.MouseButton.LeftButton)
    assert "wrong password" in refused.args[0] and "wrong password" in page.notice.text()
    assert page.status == "complete" and investigator_window.store.signatures(SUBJECT) == []
    assert not investigator_window.signing.user_proven  # a failed attempt proves nothing


def test_a_change_after_signing_clears_it_and_the_form_says_it_needs_signing_again(
    qtbot: Any, investigator_window: MainWindow
) -> None:
    page = open_form(qtbot, investigator_window, "screening", "vitals")
    sign(qtbot, page, Signer())
    page.ask_reason = lambda: "transcription error corrected"
    page.confirm = lambda lines: True
    edit = page.findChild(QLineEdit, "RESP_edit")
    edit.clear()
    qtbot.keyClicks(edit, "22")
    with qtbot.waitSignal(page.sig_saved, timeout=20_000):
        qtbot.mouseClick(page.findChild(QPushButton, "markComplete"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "needs signing again" in page.signature_info.text())
    assert page.status == "complete" and page.sign_button.isEnabled()
    assert not any(s.active for s in investigator_window.store.signatures(SUBJECT))


def test_a_nurse_cannot_sign(qtbot: Any, window: MainWindow) -> None:
    page = window.open_form(SUBJECT, "screening", "vitals", None)
    qtbot.waitUntil(lambda: page.view is not None and page.print_button.isEnabled())
    assert not page.sign_button.isEnabled() and "Only investigators sign" in page.sign_button.toolTip()
    view = window._subject_view(SUBJECT)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.grid_data is not None)
    assert not view.action_buttons["signCasebook"].isEnabled()


def test_print_saves_the_pdf_of_the_form_to_the_chosen_file(qtbot: Any, window: MainWindow, tmp_path: Path) -> None:
    from pypdf import PdfReader

    page = window.open_form(SUBJECT, "screening", "vitals", None)
    qtbot.waitUntil(lambda: page.view is not None and page.print_button.isEnabled())
    target = tmp_path / "out" / "vitals.pdf"
    target.parent.mkdir()
    page.actions.choose_output = lambda scope: PrintChoice(path=target)
    with qtbot.waitSignal(page.actions.sig_printed, timeout=30_000) as printed:
        qtbot.mouseClick(page.print_button, Qt.MouseButton.LeftButton)
    assert str(target) in printed.args[0]
    text = "".join(p.extract_text() for p in PdfReader(target).pages)
    assert SUBJECT in text and "NCT06389305" in text and "Page 1 of" in text
    assert not list(target.parent.glob("*.part"))


def test_print_to_a_folder_that_is_not_there_is_a_refusal_not_a_crash(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    page = window.open_form(SUBJECT, "screening", "vitals", None)
    qtbot.waitUntil(lambda: page.view is not None and page.print_button.isEnabled())
    page.actions.choose_output = lambda scope: PrintChoice(path=tmp_path / "missing" / "vitals.pdf")
    with qtbot.waitSignal(page.actions.sig_refused, timeout=30_000) as refused:
        qtbot.mouseClick(page.print_button, Qt.MouseButton.LeftButton)
    assert "missing/vitals.pdf: cannot be written" in refused.args[0]


def test_the_subject_view_signs_the_selected_visit(qtbot: Any, investigator_window: MainWindow) -> None:
    view = investigator_window._subject_view(SUBJECT)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.grid_data is not None)
    row = next(i for i, r in enumerate(view.grid_data.rows) if r.visit == "screening")
    view.grid.setCurrentCell(row, 1)
    assert view.selected_visit() == "screening" and view.action_buttons["signVisit"].isEnabled()
    view.actions.ask_signature = Signer()
    with qtbot.waitSignal(view.actions.sig_signed, timeout=20_000) as signed:
        qtbot.mouseClick(view.action_buttons["signVisit"], Qt.MouseButton.LeftButton)
    result = signed.args[0]
    assert result.signature.scope == "visit" and {ref.visit for ref in result.signed} == {"screening"}
    assert len(result.signed) > 1


def test_sign_dialog_asks_the_user_id_only_when_told(qtbot: Any) -> None:
    first = SignDialog("en", "DEMO / screening", INVESTIGATOR, ask_user=True)
    qtbot.addWidget(first)
    first.findChild(QLineEdit, "signUser").setText(" Demo.Investigator ")
    first.findChild(QLineEdit, "signPassword").setText("secret")
    answer = first.answer()
    assert answer == SignInput("approve", "secret", "demo.investigator")
    assert first.findChild(QLineEdit, "signPassword").text() == ""  # not kept in the widget
    later = SignDialog("zh", "DEMO / screening", INVESTIGATOR, ask_user=False)
    qtbot.addWidget(later)
    assert later.findChild(QLineEdit, "signUser") is None and later.windowTitle() == "电子签名"
    assert later.findChild(QLabel) is not None


def test_spooling_uses_cups_with_printer_and_copies_or_says_none_is_there(tmp_path: Path) -> None:
    pdf = tmp_path / "DEMO_screening.pdf"
    assert spool_command(pdf, "Ward-3", 2, "/usr/bin/lp") == [
        "/usr/bin/lp",
        "-d",
        "Ward-3",
        "-n",
        "2",
        "-t",
        "DEMO_screening",
        str(pdf),
    ]
    with pytest.raises(PrintFailed, match="save the record as a PDF file instead"):
        spool_command(pdf, "Ward-3", 1, None)
