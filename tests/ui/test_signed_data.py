"""Signed data and its feedback: a correction warns how many forms lose their signature, an unchanged
form saves nothing, an empty reason is refused aloud; the signature dialog stays open on a wrong
password; the printed eligibility form carries each criterion's outcome."""

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
from cik_ecrf.ui.sign_dialog import SignDialog
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


def open_form(qtbot: Any, window: MainWindow, form: str, language: str = "en") -> FormPage:
    page = window.open_form(SUBJECT, "screening", form, None)
    qtbot.waitUntil(lambda: page.view is not None and page.print_button.isEnabled())
    page.ask_leave = lambda: "discard"
    return page


def sign_in_dialog(qtbot: Any, page: FormPage, password: str) -> SignDialog:
    dialog = page.findChild(SignDialog)
    if dialog is None or not dialog.isVisible():
        qtbot.mouseClick(page.sign_button, Qt.MouseButton.LeftButton)
        dialog = page.actions.dialog
    assert dialog is not None and dialog.isVisible()
    user = dialog.findChild(QLineEdit, "signUser")
    if user is not None:
        user.setText(INVESTIGATOR)
    dialog.findChild(QLineEdit, "signPassword").setText(password)
    dialog.buttons.accepted.emit()
    return dialog


def test_a_wrong_password_keeps_the_signature_dialog_open_with_a_clear_message(
    qtbot: Any, investigator_window: MainWindow
) -> None:
    page = open_form(qtbot, investigator_window, "vitals")
    dialog = sign_in_dialog(qtbot, page, "Not-the-password-1")
    message = dialog.findChild(QLabel, "signMessage")
    qtbot.waitUntil(lambda: "Wrong password" in message.text(), timeout=20_000)
    assert dialog.isVisible() and dialog.password.text() == ""  # open, cleared for another try
    assert "Vital signs" in dialog.findChild(QLabel, "signWhat").text()  # the form by name, not its id
    with qtbot.waitSignal(page.actions.sig_signed, timeout=20_000):
        sign_in_dialog(qtbot, page, INVESTIGATOR_PASSWORD)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    qtbot.waitUntil(lambda: "(investigator)" in page.signature_info.text())


def test_correcting_a_visit_signed_form_says_how_many_forms_lose_their_signature(
    qtbot: Any, investigator_window: MainWindow
) -> None:
    window = investigator_window
    store = window.store
    screening = [r for r in store.subject_values(SUBJECT)[1] if r["visit"] == "screening"]
    store.sign(SUBJECT, "screening", None, meaning="approve", username=INVESTIGATOR, password=INVESTIGATOR_PASSWORD)
    page = open_form(qtbot, window, "vitals")
    qtbot.waitUntil(lambda: page.signatures != [])
    asked: list[int] = []
    page.confirm_unsign = lambda forms: asked.append(forms) or False
    page.ask_reason = lambda: "transcription error"
    edit = page.view.findChild(QLineEdit, "RESP_edit")
    edit.clear()
    qtbot.keyClicks(edit, "22")
    assert not page.save_now()
    assert asked == [len(screening)] and asked[0] > 1  # the whole visit's signature, named by its count
    assert all(s.active for s in store.signatures(SUBJECT))


def test_an_unchanged_complete_form_saves_nothing_and_an_empty_reason_is_refused_aloud(
    qtbot: Any, investigator_window: MainWindow
) -> None:
    page = open_form(qtbot, investigator_window, "vitals")
    asked: list[str] = []
    page.ask_reason = lambda: asked.append("reason") or ""
    qtbot.mouseClick(page.view.findChild(QPushButton, "saveDraft"), Qt.MouseButton.LeftButton)
    assert asked == [] and page.status == "complete" and "nothing to save" in page.notice.text()
    edit = page.view.findChild(QLineEdit, "RESP_edit")
    edit.clear()
    qtbot.keyClicks(edit, "22")
    qtbot.mouseClick(page.view.findChild(QPushButton, "markComplete"), Qt.MouseButton.LeftButton)
    assert asked == ["reason"] and "only with a reason" in page.notice.text()
    values = [r for r in investigator_window.store.subject_values(SUBJECT)[1] if r["form"] == "vitals"][0]["values"]
    assert values["RESP"] != 22


def test_a_nurse_is_told_in_chinese_that_she_cannot_sign(qtbot: Any, window: MainWindow) -> None:
    window.set_language("zh")
    page = window.open_form(SUBJECT, "screening", "vitals", None)
    qtbot.waitUntil(lambda: page.view is not None and page.print_button.isEnabled())
    with qtbot.waitSignal(page.actions.sig_refused) as refused:
        page.actions.sign(page._scope())
    assert "只有研究者可以签名" in refused.args[0] and "研究护士" in refused.args[0]


def test_the_printed_eligibility_form_lists_each_criterion(investigator_window: MainWindow) -> None:
    import io

    from pypdf import PdfReader

    from cik_ecrf.pdf import record_pdf

    data = record_pdf(investigator_window.store, SUBJECT, "screening", "eligibility")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Eligibility criteria, one by one" in text
    for criterion in ("INCL01", "INCL07", "EXCL16"):
        assert criterion in text
    assert "met" in text and "System assessment" in text


def test_a_completed_consent_broken_by_a_birth_date_says_it_needs_attention(qtbot: Any, window: MainWindow) -> None:
    from cik_ecrf.store.entry import SaveRequest

    store = window.store
    subject = store.add_subject()
    consent = {"ICFVER": "v1", "ICFDAT": "2026-01-10", "SUBJSIGN": "Y", "LTFUCONS": "Y"}
    assert store.save(SaveRequest(subject, "screening", "consent", consent)).status == "complete"
    page = window.open_form(subject, "screening", "demographics", None)
    qtbot.waitUntil(lambda: page.view is not None)
    page.ask_leave = lambda: "discard"
    edit = page.view.findChild(QLineEdit, "BRTHDAT_edit")
    qtbot.keyClicks(edit, "2016-03-01")  # a ten-year-old: the guardian must sign
    assert "Informed consent" in page.view.messages["AGE"].text()  # shown on the form being edited
    store.save(SaveRequest(subject, "screening", "demographics", {"BRTHDAT": "2016-03-01"}, draft=True))
    flagged = window.open_form(subject, "screening", "consent", None)
    qtbot.waitUntil(lambda: flagged.view is not None and flagged.attention_info.isVisible())
    assert "Needs attention" in flagged.attention_info.text()
    assert "Legal guardian signed consent" in flagged.attention_info.text()
