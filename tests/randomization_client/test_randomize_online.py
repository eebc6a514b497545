"""Randomize and Emergency unblind from the client against a real server on loopback (SQLite, and
PostgreSQL when configured), offline, and the server's own infusion rules on a hand-driven push."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from devices import Device, close_clients
from live_server import PASSWORD, LiveServer, backends, database_url, laptop, open_server_db, site_with_users
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton
from rand_helpers import ARM_WORDS
from sqlalchemy.orm import Session

from cik_ecrf.definitions.randomization import design
from cik_ecrf.demo import screening_forms
from cik_ecrf.server.randomization import lists
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.sync.client import SyncClient
from cik_ecrf.ui.form_page import FormPage
from cik_ecrf.ui.randomize_dialogs import ArmDialog, Credentials
from cik_ecrf.ui.randomize_panel import RandomizePanel
from cik_ecrf.ui.worker import StoreWorker

USERS = (("nurse1", "nurse"), ("inv1", "investigator"), ("stat1", "statistician"))
ARM_LABELS = {"Control cells (peripheral blood lymphocytes)", "CIK cells", "mRNA-CIK cells"}


@pytest.fixture(autouse=True)
def _closed_clients() -> Iterator[None]:
    yield
    close_clients()


class Site:
    def __init__(self, live: LiveServer, root: Path, study: Any) -> None:
        self.live, self.root, self.study = live, root, study
        self.stores: list[Store] = []

    def laptop(self, user: str) -> Store:
        store = laptop(self.root / f"laptop-{user}-{len(self.stores)}", self.live.url, user, self.study)
        self.stores.append(store)
        return store


@pytest.fixture(params=backends())
def site(request: pytest.FixtureRequest, tmp_path: Path, study: Any) -> Iterator[Site]:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", USERS)
        with LiveServer(engine) as live:
            with Session(engine) as session, session.begin():
                lists.generate(session, design(study), "stat1", "statistician")
            made = Site(live, tmp_path, study)
            yield made
            for store in made.stores:
                store.close()
        engine.dispose()


@pytest.fixture
def worker(qtbot: Any) -> Any:
    made = StoreWorker()
    yield made
    made.shutdown()


def eligible_subject(store: Store) -> str:
    """Complete, eligible and confirmed screening, synced to the server."""
    consent = dt.date.today() - dt.timedelta(days=3)
    number = store.add_subject()
    for form, values in screening_forms(consent, "2012-05-01", "F").items():
        store.save(SaveRequest(number, "screening", form, values, confirm_warnings=True))
    outcome = SyncClient(store).run()
    assert outcome.error is None, outcome.error
    return number


def open_page(qtbot: Any, store: Store, worker: StoreWorker, number: str) -> tuple[FormPage, RandomizePanel]:
    page = FormPage(store, worker, number, "randomization", "randomization")
    qtbot.addWidget(page)
    page.resize(1366, 700)
    page.show()
    qtbot.waitUntil(lambda: page.randomize_panel is not None and page.randomize_panel.facts is not None, timeout=10000)
    assert page.randomize_panel is not None
    return page, page.randomize_panel


def answering(credentials: Credentials, answers: list[str | None]) -> Callable[..., bool]:
    """Stands in for the credentials dialog: types `credentials`, keeps what the server answered."""

    def ask(_kind: str, attempt: Callable[..., None]) -> bool:
        attempt(credentials, answers.append)
        return True

    return ask


def shown_texts(widget: Any) -> str:
    labels = [w.text() for w in widget.findChildren(QLabel)]
    return "\n".join(labels + [b.text() + b.toolTip() for b in widget.findChildren(QPushButton)])


def test_an_investigator_randomizes_and_unblinds_from_the_form(
    qtbot: Any, site: Site, worker: StoreWorker, study: Any
) -> None:
    store = site.laptop("inv1")
    number = eligible_subject(store)
    page, panel = open_page(qtbot, store, worker, number)
    assert panel.randomize_button.isEnabled() and panel.randomize_why.text() == ""
    answers: list[str | None] = []
    panel.ask = answering(Credentials(PASSWORD), answers)
    qtbot.mouseClick(panel.randomize_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: answers == [None], timeout=30000)
    qtbot.waitUntil(lambda: panel.state.text().startswith("Randomized: number "), timeout=10000)
    allocation = store.randomization.allocation(number)
    assert (
        allocation is not None and allocation.randno in panel.state.text() and allocation.prodid in panel.state.text()
    )
    qtbot.waitUntil(lambda: page.view is not None and page.view.widgets["RANDNO"].raw() == allocation.randno)
    assert not panel.randomize_button.isEnabled() and panel.unblind_button.isEnabled()
    assert not any(word in shown_texts(page) for word in ARM_WORDS)
    # Emergency unblinding: password and reason again; the arm goes to the one dialog, never to the page
    arms: list[str] = []
    panel.ask = answering(Credentials(PASSWORD, "anaphylaxis: the treating team needs the arm"), answers)
    panel.show_arm = arms.append
    qtbot.mouseClick(panel.unblind_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(arms) == 1, timeout=30000)
    assert arms[0] in ARM_LABELS
    qtbot.waitUntil(lambda: not panel.marks["unblinded"].isHidden(), timeout=10000)
    assert not any(word in shown_texts(page) for word in ARM_WORDS)
    assert store.randomization.allocation(number).unblinded  # type: ignore[union-attr]
    assert not any(
        label in json.dumps([e.__dict__ for e in store.audit_events(number)], default=str) for label in ARM_LABELS
    )


def test_the_arm_dialog_holds_the_arm_and_goes_with_it(qtbot: Any) -> None:
    dialog = ArmDialog("BJ01-0001", "CIK cells", "en")
    dialog.show()
    assert dialog.arm.text() == "CIK cells"
    assert dialog.arm.textInteractionFlags() == Qt.TextInteractionFlag.NoTextInteraction  # not selectable, not copied
    assert dialog.testAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    with qtbot.waitSignal(dialog.destroyed, timeout=5000):
        dialog.close()


def test_a_wrong_password_is_said_and_nothing_is_randomized(qtbot: Any, site: Site, worker: StoreWorker) -> None:
    store = site.laptop("inv1")
    number = eligible_subject(store)
    _page, panel = open_page(qtbot, store, worker, number)
    answers: list[str | None] = []
    panel.ask = answering(Credentials("not-the-password"), answers)
    qtbot.mouseClick(panel.randomize_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(answers) == 1, timeout=30000)
    assert answers[0] and "password" in answers[0].lower()
    assert store.randomization.allocation(number) is None
    assert panel.state.text() == "Not randomized yet." and panel.randomize_button.isEnabled()


def test_a_nurse_online_cannot_randomize(qtbot: Any, site: Site, worker: StoreWorker) -> None:
    store = site.laptop("nurse1")
    number = eligible_subject(store)
    _page, panel = open_page(qtbot, store, worker, number)
    assert not panel.randomize_button.isEnabled()
    assert panel.randomize_why.text() == "Only an investigator randomizes."


def test_offline_the_form_says_randomization_needs_a_connection(
    qtbot: Any, tmp_path: Path, study: Any, worker: StoreWorker
) -> None:
    with database_url(tmp_path, "sqlite") as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", USERS)
        with LiveServer(engine) as live:
            store = laptop(tmp_path / "laptop", live.url, "inv1", study)
            number = eligible_subject(store)
        engine.dispose()  # the server is gone: the laptop is offline
    try:
        _page, panel = open_page(qtbot, store, worker, number)
        assert panel.randomize_button.isEnabled()  # enrolled, and nothing says the server is away yet
        answers: list[str | None] = []
        panel.ask = answering(Credentials(PASSWORD), answers)
        qtbot.mouseClick(panel.randomize_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(answers) == 1, timeout=60000)
        assert answers == ["Randomization needs a connection: the study server did not answer. Nothing was changed."]
        assert not panel.randomize_button.isEnabled()
        assert panel.randomize_why.text().startswith("Randomization needs a connection to the study server")
        assert store.randomization.allocation(number) is None
        store.save(SaveRequest(number, "subject", "conmeds", {"CMTRT": "Paracetamol"}, draft=True))  # work goes on
    finally:
        store.close()


# ---------------------------------------------------------------- the server's infusion rules


def _infusion_changes(device: Device, subject_id: str, values: dict[str, Any]) -> list[Any]:
    instance = str(uuid.uuid4())
    context = {"subject_id": subject_id, "visit_id": "D0", "form_id": "infusion", "instance_id": instance}
    changes = [device.change("form_create", new_json=json.dumps({"status": "draft", "version": "1.0"}), **context)]
    for field, value in values.items():
        changes.append(device.change("value_set", field_id=field, new_json=json.dumps(value), **context))
    return changes


def test_the_server_refuses_an_infusion_the_randomization_forbids(site: Site) -> None:
    investigator = site.laptop("inv1")
    randomized_number = eligible_subject(investigator)
    other_number = eligible_subject(investigator)
    from cik_ecrf.sync.randomize import randomize

    allocation = randomize(investigator, randomized_number, "inv1", PASSWORD)
    randomized_id = investigator.randomization.subject_id(randomized_number)
    other_id = investigator.randomization.subject_id(other_number)
    device = Device(site.live, "nurse1")
    start = (dt.datetime.fromisoformat(allocation.randdtc) + dt.timedelta(hours=2)).isoformat(timespec="minutes")
    early = (dt.datetime.fromisoformat(allocation.randdtc) - dt.timedelta(hours=2)).isoformat(timespec="minutes")
    answers = device.push(_infusion_changes(device, other_id, {"PRODID": allocation.prodid}))["results"]
    assert [a["disposition"] for a in answers] == ["rejected", "rejected"]
    assert "not randomized" in answers[0]["reason"]
    answers = device.push(_infusion_changes(device, randomized_id, {"PRODID": "PX-WRONG", "INFSTDTC": early}))[
        "results"
    ]
    assert [a["disposition"] for a in answers] == ["applied", "rejected", "rejected"]
    assert "does not match the randomized product code" in answers[1]["reason"]
    assert allocation.prodid not in answers[1]["reason"]  # the refusal never tells the right code
    assert "before randomization" in answers[2]["reason"]
    answers = device.push(_infusion_changes(device, randomized_id, {"PRODID": allocation.prodid, "INFSTDTC": start}))[
        "results"
    ]
    assert [a["disposition"] for a in answers] == ["applied", "applied", "applied"]
    from cik_ecrf.events.randomized import instance_id

    context = {"subject_id": other_id, "visit_id": "randomization", "form_id": "randomization"}
    started = device.change(
        "form_create", instance_id=instance_id(other_id), new_json=json.dumps({"status": "draft"}), **context
    )
    answer = device.push([started])["results"][0]
    assert answer["disposition"] == "rejected" and "a laptop never starts this form" in answer["reason"]


def test_in_the_window_a_failed_sync_says_so_before_any_click(
    qtbot: Any, tmp_path: Path, study: Any, worker: StoreWorker
) -> None:
    from cik_ecrf.ui.app import MainWindow

    with database_url(tmp_path, "sqlite") as url:
        engine = open_server_db(url)
        site_with_users(engine, "BJ01", USERS)
        with LiveServer(engine) as live:
            store = laptop(tmp_path / "laptop", live.url, "inv1", study)
            number = eligible_subject(store)
        engine.dispose()  # the server is gone
    try:
        window = MainWindow(store, worker, "en", sync_automatic=False)
        qtbot.addWidget(window)
        window.show()
        page = window.open_form(number, "randomization", "randomization", None)
        qtbot.waitUntil(lambda: page.randomize_panel is not None and page.randomize_panel.facts is not None)
        panel = page.randomize_panel
        assert panel is not None and panel.randomize_button.isEnabled()
        with qtbot.waitSignal(window.sync.sig_outcome, timeout=60000):
            window.request_sync()
        assert not panel.randomize_button.isEnabled()
        assert panel.randomize_why.text().startswith("Randomization needs a connection")
        window.sync.shutdown()
    finally:
        store.close()
