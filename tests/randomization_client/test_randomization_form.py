"""The randomization form in the client: never saved by hand, explained, the allocation shown without an
arm, Randomize and Emergency unblind for an investigator, disabled with the reason otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QPushButton
from rand_helpers import ARM_WORDS, INVESTIGATOR, NURSE, allocate, make_store, unblinded, voided

from cik_ecrf.store.api import Store
from cik_ecrf.ui.date_edit import local_text
from cik_ecrf.ui.form_page import FormPage
from cik_ecrf.ui.randomize_panel import RandomizePanel
from cik_ecrf.ui.worker import StoreWorker


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    return make_store(tmp_path_factory.mktemp("randform") / "store", study)


@pytest.fixture
def directory(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(built, copy)
    return copy


@pytest.fixture
def worker(qtbot: Any) -> Any:
    made = StoreWorker()
    yield made
    made.shutdown()


def open_page(qtbot: Any, store: Store, worker: StoreWorker, number: str, language: str = "en") -> FormPage:
    page = FormPage(store, worker, number, "randomization", "randomization", language=language)
    qtbot.addWidget(page)
    page.resize(1366, 700)
    page.show()
    qtbot.waitUntil(lambda: page.randomize_panel is not None and page.randomize_panel.facts is not None, timeout=10000)
    return page


def texts(widget: Any) -> str:
    """Every text the page shows: labels, buttons, tooltips."""
    parts = [w.text() for w in widget.findChildren(QLabel)] + [w.text() for w in widget.findChildren(QPushButton)]
    parts += [w.toolTip() for w in widget.findChildren(QPushButton)]
    return "\n".join(parts)


def panel_of(page: FormPage) -> RandomizePanel:
    assert page.randomize_panel is not None
    return page.randomize_panel


def test_the_form_cannot_be_saved_by_hand(qtbot: Any, directory: Path, study: Any, worker: StoreWorker) -> None:
    with Store.open(directory, NURSE[0], NURSE[1], study) as store:
        page = open_page(qtbot, store, worker, "S-ELIG")
        assert page.view is not None
        assert not page.view.draft_button.isVisible() and not page.view.complete_button.isVisible()
        assert page.view.draft_button not in page.view.stops()
        assert page.save_now() is False  # Ctrl+S
        page.complete_now()  # Ctrl+Enter
        page.view.request_draft()
        assert not page.save({}, True)
        assert "central server sets this form" in page.notice.text()
        qtbot.wait(50)
        assert worker.pending == 0
        assert not [r for r in store.subject_values("S-ELIG")[1] if r["form"] == "randomization"]


def test_a_nurse_sees_why_she_cannot_randomize(qtbot: Any, directory: Path, study: Any, worker: StoreWorker) -> None:
    with Store.open(directory, NURSE[0], NURSE[1], study) as store:
        page = open_page(qtbot, store, worker, "S-ELIG")
        panel = panel_of(page)
        assert "set by the central server" in panel.explain.text()
        assert panel.state.text() == "Not randomized yet."
        assert not panel.randomize_button.isEnabled()
        assert panel.randomize_why.text() == "Only an investigator randomizes."
        assert panel.unblind_button.isHidden()  # nothing to unblind


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("S-SCREEN", "Not eligible: the eligibility assessment must say the subject is eligible (Y)."),
        ("S-NOCONF", "Eligibility is not confirmed: the investigator's confirmation (IECONF) must be Yes."),
        ("S-ELIG", "Randomization needs a connection to the study server; everything else works offline."),
    ],
)
def test_an_investigator_sees_why_randomize_is_disabled(
    qtbot: Any, directory: Path, study: Any, worker: StoreWorker, number: str, why: str
) -> None:
    with Store.open(directory, INVESTIGATOR[0], INVESTIGATOR[1], study) as store:
        page = open_page(qtbot, store, worker, number)
        panel = panel_of(page)
        assert not panel.randomize_button.isEnabled()
        assert panel.randomize_why.text() == why
        assert panel.randomize_button.toolTip() == why


def test_the_allocation_is_shown_without_an_arm(qtbot: Any, directory: Path, study: Any, worker: StoreWorker) -> None:
    with Store.open(directory, INVESTIGATOR[0], INVESTIGATOR[1], study) as store:
        allocate(store, "S-ELIG")
        page = open_page(qtbot, store, worker, "S-ELIG")
        panel = panel_of(page)
        when = local_text("2026-03-04T09:30+08:00")  # the laptop's wall-clock time, as the field shows it
        assert panel.state.text() == f"Randomized: number R-0001 · product code PX-7K2Q · {when}"
        assert panel.randomize_why.text() == "Already randomized: a subject is randomized once."
        assert not panel.unblind_button.isHidden() and not panel.unblind_button.isEnabled()
        assert "Unblinding needs a connection" in panel.unblind_why.text()
        assert page.status == "complete"  # the server's event made the form, complete
        assert page.view is not None and page.view.widgets["RANDNO"].raw() == "R-0001"
        assert panel.marks["unblinded"].isHidden()
        shown = texts(page)
        assert not any(word in shown for word in ARM_WORDS), shown


def test_an_unblinded_subject_is_marked_without_the_arm(
    qtbot: Any, directory: Path, study: Any, worker: StoreWorker
) -> None:
    with Store.open(directory, NURSE[0], NURSE[1], study) as store:
        allocate(store, "S-ELIG")
        unblinded(store, "S-ELIG")
        page = open_page(qtbot, store, worker, "S-ELIG", language="zh")
        panel = panel_of(page)
        assert not panel.marks["unblinded"].isHidden()
        assert "紧急揭盲" in panel.marks["unblinded"].text()
        shown = texts(page)
        assert not any(word in shown for word in ARM_WORDS), shown


def test_a_voided_randomization_shows_as_not_in_force(
    qtbot: Any, directory: Path, study: Any, worker: StoreWorker
) -> None:
    with Store.open(directory, INVESTIGATOR[0], INVESTIGATOR[1], study) as store:
        allocate(store, "S-ELIG")
        voided(store, "S-ELIG")
        page = open_page(qtbot, store, worker, "S-ELIG")
        panel = panel_of(page)
        assert not panel.marks["voided"].isHidden() and "data manager's decision" in panel.marks["voided"].text()
        assert panel.state.text() == "Not randomized yet." and panel.unblind_button.isHidden()
        # randomizing again is the server's to allow: here only the missing connection stands in the way
        assert not panel.randomize_button.isEnabled() and panel.randomize_why.text().startswith("Randomization needs")
