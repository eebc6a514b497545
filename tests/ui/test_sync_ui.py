"""Sync in the client against a real server on loopback: Sync now, the status line, backoff when the
server is away, and the conflict view resolving with a reason."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton, QTableWidget

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))

from live_server import LiveServer, database_url, laptop, open_server_db, site_with_users  # noqa: E402
from sync_fixtures import VITALS, save, sync, values  # noqa: E402

from cik_ecrf.store.api import Store  # noqa: E402
from cik_ecrf.sync.client import Backoff  # noqa: E402
from cik_ecrf.ui.app import MainWindow  # noqa: E402
from cik_ecrf.ui.worker import StoreWorker  # noqa: E402


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine)
        with LiveServer(engine) as live:
            yield live
        engine.dispose()


def client_window(qtbot: Any, store: Store, automatic: bool = False) -> MainWindow:
    window = MainWindow(store, StoreWorker(), idle_minutes=60, sync_automatic=automatic)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.sync.status is not None)
    return window


def press_sync_now(qtbot: Any, window: MainWindow) -> Any:
    with qtbot.waitSignal(window.sync.sig_outcome, timeout=30_000) as done:
        window.findChild(type(window.actions_["sync_now"]), "syncNow").trigger()
    return done.args[0]


def test_sync_now_sends_the_waiting_changes_and_the_status_line_says_so(
    qtbot: Any, server: LiveServer, tmp_path: Path, study: Any
) -> None:
    store = laptop(tmp_path / "a", server.url, "nurse1", study)
    number = store.add_subject()
    save(store, number, "D1", "vitals", VITALS)
    window = client_window(qtbot, store)
    assert "waiting" in window.sync_indicator.text() and "0 changes waiting" not in window.sync_indicator.text()
    outcome = press_sync_now(qtbot, window)
    assert outcome.ok and outcome.pushed > 0 and outcome.waiting == 0
    qtbot.waitUntil(lambda: "0 changes waiting" in window.sync_indicator.text())
    assert window.sync_indicator.text().startswith("● Online") and "last sync" in window.sync_indicator.text()
    said = window.statusBar().currentMessage()
    assert said.startswith(f"Synced: {outcome.pushed} changes sent, {outcome.pulled} received.")


def test_a_change_from_another_laptop_arrives_and_the_subject_list_shows_it(
    qtbot: Any, server: LiveServer, tmp_path: Path, study: Any
) -> None:
    other = laptop(tmp_path / "b", server.url, "nurse2", study)
    number = other.add_subject()
    sync(other)
    window = client_window(qtbot, laptop(tmp_path / "a", server.url, "nurse1", study))
    outcome = press_sync_now(qtbot, window)
    assert outcome.pulled > 0
    table = window.subject_list.findChild(QTableWidget, "subjectTable")
    qtbot.waitUntil(lambda: any(table.item(r, 0).text() == number for r in range(table.rowCount())))
    other.close()


def test_an_unreachable_server_shows_offline_and_retries_with_backoff(
    qtbot: Any, server: LiveServer, tmp_path: Path, study: Any
) -> None:
    store = laptop(tmp_path / "a", server.url, "nurse1", study)
    save(store, store.add_subject(), "D1", "vitals", VITALS)
    server.__exit__()  # the ward's network is gone
    window = client_window(qtbot, store)
    window.sync.backoff = Backoff(first_retry=600)  # the retry is scheduled, not awaited
    window.sync.automatic = True  # as in the client: after each attempt the next one is scheduled
    window.sync.sync_now()
    qtbot.waitUntil(lambda: window.sync.last is not None, timeout=30_000)
    assert window.sync.last.error and not window.sync.last.ok
    qtbot.waitUntil(lambda: window.sync_indicator.text().startswith("○ Offline"))
    assert window.sync.last.error in window.sync_indicator.toolTip()
    waiting = store.sync_status().waiting
    assert window.sync_indicator.toolTip().startswith(
        f"Not connected to the server. {waiting} change{'s wait' if waiting > 1 else ' waits'} on this laptop"
    )
    assert 540_000 < window.sync.next_attempt_ms <= 630_000  # the first retry, give or take a coarse timer's slack
    assert store.sync_status().waiting > 0  # nothing lost: still waiting for the next attempt


def test_the_conflict_view_shows_both_values_and_resolves_with_a_reason(
    qtbot: Any, server: LiveServer, tmp_path: Path, study: Any
) -> None:
    a = laptop(tmp_path / "a", server.url, "nurse1", study)
    b = laptop(tmp_path / "b", server.url, "nurse2", study)
    number = a.add_subject()
    instance = save(a, number, "D1", "vitals", VITALS)
    sync(a), sync(b)
    save(a, number, "D1", "vitals", {"TEMP": 37.1}, reason="re-measured")
    save(b, number, "D1", "vitals", {"TEMP": 38.2}, reason="re-measured")
    sync(a)
    window = client_window(qtbot, b)
    outcome = press_sync_now(qtbot, window)
    assert outcome.conflicts == 1
    qtbot.waitUntil(lambda: "1 conflict(s)" in window.sync_indicator.text())
    page = window.open_form(number, "D1", "vitals", instance)
    qtbot.waitUntil(lambda: page.conflict_info.isVisible())
    assert (
        "TEMP is in conflict" in page.conflict_info.text()
        and "37.1" in page.conflict_info.text()
        and "38.2" in page.conflict_info.text()
    )
    dialog = window.show_conflicts()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: len(dialog.conflicts) == 1)
    cell = dialog.findChild(QTableWidget, "conflictTable").item(0, 4).text()
    assert "37.1  (nurse1," in cell and "38.2  (nurse2," in cell
    choice = dialog.findChild(QComboBox, "conflictChoice")
    choice.setCurrentIndex(next(i for i in range(choice.count()) if choice.itemText(i).startswith("38.2")))
    qtbot.mouseClick(dialog.findChild(QPushButton, "resolveConflict"), Qt.MouseButton.LeftButton)
    assert "Say why" in dialog.message.text() and len(b.conflicts()) == 1  # no reason, no resolution
    dialog.findChild(QLineEdit, "conflictReason").setText("checked the chart: 38.2 at 10:00")
    with qtbot.waitSignal(dialog.sig_resolved, timeout=20_000):
        qtbot.mouseClick(dialog.findChild(QPushButton, "resolveConflict"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.conflicts == [])
    assert values(b, number)[("D1", "vitals")]["TEMP"] == 38.2
    resolution = [e for e in b.audit_events(number) if e.action == "conflict_resolve"]
    assert resolution[0].reason == "checked the chart: 38.2 at 10:00" and resolution[0].instance_id == instance
    press_sync_now(qtbot, window)
    sync(a)
    assert a.conflicts() == [] and values(a, number)[("D1", "vitals")]["TEMP"] == 38.2
    a.close()


def test_a_laptop_without_a_server_says_how_to_connect(qtbot: Any, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.sync.status is not None)
    waiting = window.sync.status.waiting
    assert window.sync_indicator.text() == f"○ Not connected to a server · {waiting} changes waiting"
    assert "not connected to the study server" in window.sync_indicator.toolTip()
    assert "cik-ecrf" not in window.sync_indicator.toolTip()  # plain words, no shell command
    outcome = press_sync_now(qtbot, window)
    assert "not enrolled" in (outcome.error or "")
    assert f"{waiting} changes wait on this laptop" in window.statusBar().currentMessage()
