"""The form page after a protocol amendment: an old instance drawn and checked with its own version, a
new one with the newest, the version mark, and "Move to the newest version…" through its dialog."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from laptop_versions import (  # noqa: E402
    MONITOR,
    MONITOR_PW,
    NURSE,
    NURSE_PW,
    VITALS,
    add_pain,
    bundle_with,
    laptop,
    receive,
    save,
    tighten_hr,
)
from PySide6.QtCore import Qt  # noqa: E402

from cik_ecrf.store.api import Store  # noqa: E402
from cik_ecrf.ui.form_page import FormPage  # noqa: E402
from cik_ecrf.ui.worker import StoreWorker  # noqa: E402


@pytest.fixture
def worker() -> Iterator[StoreWorker]:
    running = StoreWorker()
    yield running
    running.shutdown()


@pytest.fixture
def amended(tmp_path: Path, study: Any) -> Iterator[tuple[Store, str, str]]:
    """A nurse's store: vitals completed at D1 on 1.0, then study version 2 (vitals 1.1, PAIN required)."""
    laptop(tmp_path / "store", study)
    store = Store.open(tmp_path / "store", NURSE, NURSE_PW, study)
    subject = store.add_subject()
    old = save(store, subject, "D1", "vitals", VITALS)
    assert receive(store, bundle_with(add_pain)) == [2]
    yield store, subject, old
    store.close()


def page(qtbot: Any, store: Store, worker: StoreWorker, subject: str, visit: str, **kw: Any) -> FormPage:
    widget = FormPage(store, worker, subject, visit, "vitals", **kw)
    qtbot.addWidget(widget)
    widget.resize(1366, 768)
    widget.show()
    qtbot.waitUntil(lambda: widget.view is not None)
    return widget


def test_an_old_instance_is_drawn_and_checked_with_its_own_version(
    qtbot: Any, worker: StoreWorker, amended: tuple[Store, str, str]
) -> None:
    store, subject, old = amended
    widget = page(qtbot, store, worker, subject, "D1", ask_reason=lambda: "re-measured")
    assert widget.instance == old and widget.view.form.version == "1.0"
    assert "PAIN" not in widget.view.widgets
    assert widget.upgrade.mark.text() == "Form version 1.0 — newer version 1.1 available"
    assert widget.upgrade.bar.isVisible() and widget.upgrade.button.isVisible()
    # checking as typed is 1.0's: completing needs no pain score
    widget.view.widgets["HR"].set_raw("82")
    widget.view.on_edited("HR", widget.view.widgets["HR"].raw())
    with qtbot.waitSignal(widget.sig_saved) as saved:
        widget.view.request_complete()
    assert saved.args[0].status == "complete"
    assert store.subject_values(subject)[1][0]["values"]["HR"] == 82


def test_a_new_instance_takes_the_newest_version(
    qtbot: Any, worker: StoreWorker, amended: tuple[Store, str, str]
) -> None:
    store, subject, _ = amended
    widget = page(qtbot, store, worker, subject, "D7")
    assert widget.instance is None and widget.view.form.version == "1.1"
    assert "PAIN" in widget.view.widgets
    assert not widget.upgrade.bar.isVisible()
    for field, value in VITALS.items():
        widget.view.widgets[field].set_raw(str(value))
        widget.view.on_edited(field, widget.view.widgets[field].raw())
    with qtbot.waitSignal(widget.view.sig_completion_refused) as refused:
        widget.view.request_complete()
    assert any("Pain score" in line for line in refused.args[0])


def test_moving_to_the_newest_version_through_the_dialog(
    qtbot: Any, worker: StoreWorker, amended: tuple[Store, str, str]
) -> None:
    store, subject, old = amended
    widget = page(qtbot, store, worker, subject, "D1")
    qtbot.mouseClick(widget.upgrade.button, Qt.MouseButton.LeftButton)
    dialog = widget.upgrade.dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.move_button.isEnabled()  # no reason, no move
    qtbot.keyClicks(dialog.reason, "protocol amendment 2: pain score")
    assert dialog.move_button.isEnabled()
    with qtbot.waitSignal(widget.upgrade.sig_upgraded) as moved:
        qtbot.mouseClick(dialog.move_button, Qt.MouseButton.LeftButton)
    assert (moved.args[0].from_version, moved.args[0].to_version, moved.args[0].missing_required) == (
        "1.0",
        "1.1",
        ("PAIN",),
    )
    qtbot.waitUntil(lambda: widget.view is not None and widget.view.form.version == "1.1")
    assert "PAIN" in widget.view.widgets and not widget.upgrade.button.isVisible()
    assert "Newly required and still empty: Pain score (0-10)" in widget.upgrade.mark.text()
    [event] = [e for e in store.audit_events(subject) if e.action == "instance_upgraded"]
    assert event.instance_id == old and event.reason == "protocol amendment 2: pain score"


def test_cancelling_the_dialog_moves_nothing(qtbot: Any, worker: StoreWorker, amended: tuple[Store, str, str]) -> None:
    store, subject, _ = amended
    widget = page(qtbot, store, worker, subject, "D1")
    widget.upgrade.ask()
    dialog = widget.upgrade.dialog
    qtbot.keyClicks(dialog.reason, "changed my mind")
    qtbot.mouseClick(dialog.findChild(type(dialog.move_button), "upgradeCancel"), Qt.MouseButton.LeftButton)
    assert worker.pending == 0 and widget.view.form.version == "1.0"
    assert not [e for e in store.audit_events(subject) if e.action == "instance_upgraded"]


def test_the_mark_and_dialog_in_chinese(qtbot: Any, worker: StoreWorker, amended: tuple[Store, str, str]) -> None:
    store, subject, _ = amended
    widget = page(qtbot, store, worker, subject, "D1", language="zh")
    assert "1.0" in widget.upgrade.mark.text() and "1.1" in widget.upgrade.mark.text()
    assert "Form version" not in widget.upgrade.mark.text()
    dialog = widget.upgrade.ask()
    assert dialog is not None and "Move" not in dialog.move_button.text()
    dialog.reject()


def test_receiving_a_version_is_audited(amended: tuple[Store, str, str]) -> None:
    store, _, _ = amended
    with store.unit_of_work() as session:
        rows = (
            session.connection()
            .exec_driver_sql("SELECT username, new_json FROM audit_event WHERE action = 'study_version_received'")
            .all()
        )
    assert len(rows) == 1 and rows[0][0] == NURSE and '"study_version": 2' in rows[0][1]
    assert store.verify_audit().ok


def test_a_monitor_sees_the_mark_but_does_not_move(
    qtbot: Any, worker: StoreWorker, amended: tuple[Store, str, str], tmp_path: Path, study: Any
) -> None:
    _, subject, _ = amended
    with Store.open(tmp_path / "store", MONITOR, MONITOR_PW, study) as monitor:
        widget = page(qtbot, monitor, worker, subject, "D1")
        assert widget.upgrade.mark.text() == "Form version 1.0 — newer version 1.1 available"
        assert widget.upgrade.button.isVisible() and not widget.upgrade.button.isEnabled()
        assert "Only investigators and nurses" in widget.upgrade.button.toolTip()
        qtbot.waitUntil(lambda: worker.pending == 0)


def test_unsaved_input_is_saved_or_discarded_before_a_move(
    qtbot: Any, worker: StoreWorker, amended: tuple[Store, str, str]
) -> None:
    store, subject, _ = amended
    widget = page(qtbot, store, worker, subject, "D1")
    widget.view.widgets["HR"].set_raw("84")
    widget.view.on_edited("HR", widget.view.widgets["HR"].raw())
    assert widget.upgrade.ask() is None and worker.pending == 0
    assert "Save or discard the changes" in widget.notice.text()


def test_a_value_the_new_version_refuses_is_named_and_nothing_moves(
    qtbot: Any, worker: StoreWorker, tmp_path: Path, study: Any
) -> None:
    laptop(tmp_path / "store", study)
    with Store.open(tmp_path / "store", NURSE, NURSE_PW, study) as store:
        subject = store.add_subject()
        save(store, subject, "D1", "vitals", {**VITALS, "HR": 160})  # a confirmed warning on 1.0
        receive(store, bundle_with(tighten_hr))  # 1.1: at most 150
        widget = page(qtbot, store, worker, subject, "D1")
        assert widget.view.form.version == "1.0" and not widget.attention_info.isVisible()  # valid on 1.0
        widget.upgrade.ask()
        qtbot.keyClicks(widget.upgrade.dialog.reason, "amendment 2")
        with qtbot.waitSignal(widget.sig_refused) as refused:
            qtbot.mouseClick(widget.upgrade.dialog.move_button, Qt.MouseButton.LeftButton)
        assert any(line.startswith("HR:") and "correct it on version 1.0 first" in line for line in refused.args[0])
        assert widget.upgrade.button.isEnabled() and widget.view.form.version == "1.0"
        assert not [e for e in store.audit_events(subject) if e.action == "instance_upgraded"]
