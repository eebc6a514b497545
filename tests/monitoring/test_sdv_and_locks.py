"""Source-data verification dropped by a later change (audited, on every laptop), progress per visit;
a lock refused on every device, offline included; unlocking needs a reason and voids signatures."""

from __future__ import annotations

from pathlib import Path

import pytest
from devices import Device
from live_server import PASSWORD, LiveServer, laptop
from sqlalchemy import text
from sync_fixtures import VITALS, save, sync, values

from cik_ecrf.store.errors import StoreError


def test_a_change_drops_the_verification_on_every_laptop(server: LiveServer, tmp_path: Path, study) -> None:
    nurse = laptop(tmp_path / "n", server.url, "nurse1", study)
    monitor = laptop(tmp_path / "m", server.url, "mon1", study)
    number = nurse.add_subject()
    instance = save(nurse, number, "D1", "vitals", VITALS)
    sync(nurse), sync(monitor)
    assert monitor.monitoring.verify(number, "D1", "vitals") == 1
    monitor.monitoring.verify(number, "D1", "vitals", ["HR", "TEMP"])
    state = monitor.monitoring.sdv_state(instance)
    assert state.verified and state.fields == {"HR": "verified", "TEMP": "verified"}
    [visit] = monitor.monitoring.sdv_progress(number).visits
    assert (visit.visit_id, visit.forms, visit.verified, visit.dropped) == ("D1", 1, 1, 0)
    sync(monitor), sync(nurse)
    assert nurse.monitoring.sdv_state(instance).verified

    save(nurse, number, "D1", "vitals", {"HR": 91}, reason="re-measured")
    dropped = nurse.monitoring.sdv_state(instance)
    assert (dropped.form, dropped.fields) == ("dropped", {"HR": "dropped", "TEMP": "verified"})
    sync(nurse), sync(monitor)
    seen = monitor.monitoring.sdv_state(instance)
    assert (seen.form, seen.fields["HR"], seen.fields["TEMP"]) == ("dropped", "dropped", "verified")
    assert monitor.monitoring.sdv_progress(number).visits[0].dropped == 1
    events = [e for e in monitor.audit_events(number) if e.action == "sdv_dropped"]
    assert len(events) == 1 and events[0].username == "server" and events[0].instance_id == instance
    with server.engine.connect() as conn:
        marks = dict(
            conn.execute(
                text("SELECT field_id, dropped_seq IS NOT NULL FROM monitoring_sdv WHERE instance_id = :i"),
                {"i": instance},
            ).all()
        )
    assert marks == {"": True, "HR": True, "TEMP": False}
    monitor.monitoring.verify(number, "D1", "vitals")  # verified again
    sync(monitor), sync(nurse)
    assert nurse.monitoring.sdv_state(instance).verified and monitor.monitoring.sdv_state(instance).verified
    nurse.close(), monitor.close()


def test_a_locked_form_is_refused_on_every_device_offline_too(server: LiveServer, tmp_path: Path, study) -> None:
    a = laptop(tmp_path / "a", server.url, "nurse1", study)
    b = laptop(tmp_path / "b", server.url, "nurse2", study)
    manager = laptop(tmp_path / "dm", server.url, "dm1", study)
    number = a.add_subject()
    instance = save(a, number, "D1", "vitals", VITALS)
    sync(a), sync(b), sync(manager)
    manager.monitoring.lock(number, "D1", "vitals")
    assert manager.monitoring.lock_of(number, "D1", "vitals").scope == "form"
    sync(manager), sync(a)
    with pytest.raises(StoreError, match="lock rule: .* is locked"):  # A knows of the lock: refused offline
        save(a, number, "D1", "vitals", {"HR": 99}, reason="late")
    save(b, number, "D1", "vitals", {"HR": 99}, reason="late")  # B never heard of it: it saves, the server refuses
    outcome = b.sync_status()
    assert outcome.waiting > 0
    from cik_ecrf.sync.client import SyncClient

    refused = SyncClient(b).run()
    assert refused.rejected and all("lock rule" in r for r in refused.rejected)
    hand = Device(server, "nurse2")  # any device, hand-driven
    [result] = hand.push([hand.value("x", instance, "HR", 100)])["results"]
    assert result["disposition"] == "rejected" and "lock rule" in result["reason"]
    with server.engine.connect() as conn:
        value = conn.execute(
            text("SELECT value_json FROM field_state WHERE instance_id = :i AND field_id = 'HR'"), {"i": instance}
        ).scalar()
    assert value == "80"
    # a lock of the whole subject refuses new forms too
    manager.monitoring.lock(number)
    sync(manager), sync(a)
    with pytest.raises(StoreError, match="lock rule"):
        save(a, number, "D7", "vitals", VITALS)
    with pytest.raises(StoreError, match="reason"):
        manager.monitoring.unlock(number, reason=" ")
    manager.monitoring.unlock(number, reason="query answered after lock")
    manager.monitoring.unlock(number, "D1", "vitals", reason="correction agreed with the monitor")
    sync(manager), sync(a)
    save(a, number, "D1", "vitals", {"HR": 101}, reason="correction agreed")
    assert sync(a).ok and values(a, number)[("D1", "vitals")]["HR"] == 101
    a.close(), b.close(), manager.close()


def test_unlocking_voids_the_signatures_over_what_was_unlocked(server: LiveServer, tmp_path: Path, study) -> None:
    investigator = laptop(tmp_path / "i", server.url, "inv1", study)
    manager = laptop(tmp_path / "dm", server.url, "dm1", study)
    number = investigator.add_subject()
    instance = save(investigator, number, "D1", "vitals", VITALS)
    investigator.sign(number, "D1", "vitals", meaning="author", username="inv1", password=PASSWORD)
    sync(investigator), sync(manager)
    manager.monitoring.lock(number, "D1")
    sync(manager), sync(investigator)
    assert manager.monitoring.unlock(number, "D1", reason="data query on the visit") == []  # not signed here
    sync(manager), sync(investigator)
    [record] = investigator.signatures(number)
    assert not record.active and "unlocked by dm1" in (record.cleared_reason or "")
    _, rows = investigator.subject_values(number)
    assert [r["status"] for r in rows if r["instance"] == instance] == ["complete"]
    with server.engine.connect() as conn:
        cover = conn.execute(text("SELECT cleared_seq FROM signature_cover WHERE instance_id = :i"), {"i": instance})
        status = conn.execute(text("SELECT status FROM instance WHERE id = :i"), {"i": instance}).scalar()
        assert cover.scalar() is not None and status == "complete"
    investigator.close(), manager.close()


def test_locked_data_can_still_be_signed(server: LiveServer, tmp_path: Path, study) -> None:
    investigator = laptop(tmp_path / "i", server.url, "inv1", study)
    manager = laptop(tmp_path / "dm", server.url, "dm1", study)
    number = investigator.add_subject()
    save(investigator, number, "D1", "vitals", VITALS)
    sync(investigator), sync(manager)
    manager.monitoring.lock(number)
    sync(manager), sync(investigator)
    investigator.sign(number, "D1", meaning="approve", username="inv1", password=PASSWORD)
    assert sync(investigator).ok
    with pytest.raises(StoreError, match="lock rule"):
        save(investigator, number, "D1", "vitals", {"HR": 70}, reason="late")
    investigator.close(), manager.close()
