"""A query's whole life across laptops and the server: a monitor raises it, a nurse answers with a
correction on another laptop, the monitor reopens it with a reason, the nurse explains, the monitor
closes it; a later change makes it closed_modified on every laptop."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_server import LiveServer, laptop
from sqlalchemy import text
from sync_fixtures import VITALS, save, sync, values

from cik_ecrf.store.errors import PermissionDenied, StoreError


def test_a_query_lives_across_two_laptops_and_the_server(server: LiveServer, tmp_path: Path, study) -> None:
    nurse = laptop(tmp_path / "n", server.url, "nurse1", study)
    monitor = laptop(tmp_path / "m", server.url, "mon1", study)
    number = nurse.add_subject()
    instance = save(nurse, number, "D1", "vitals", VITALS)
    sync(nurse), sync(monitor)

    query_id = monitor.monitoring.open_query(number, "D1", "vitals", "HR", text="HR 80 but the chart says 88?")
    [row] = monitor.monitoring.queries(status="open")
    assert (row.subject, row.field_id, row.instance_id, row.kind, row.opened_by) == (
        number,
        "HR",
        instance,
        "manual",
        "mon1",
    )
    assert sync(monitor).ok
    sync(nurse)
    [seen] = nurse.monitoring.queries_for_instance(instance)
    assert (seen.id, seen.status, seen.text) == (query_id, "open", "HR 80 but the chart says 88?")

    with pytest.raises(PermissionDenied, match="query rule: a nurse cannot close"):
        nurse.monitoring.close_query(query_id)
    nurse.monitoring.answer_query(query_id, "transcription error, chart says 88", correction={"HR": 88})
    assert values(nurse, number)[("D1", "vitals")]["HR"] == 88
    assert nurse.monitoring.query(query_id).status == "answered"
    outcome = sync(nurse)
    assert outcome.ok, outcome.rejected
    sync(monitor)
    assert monitor.monitoring.query(query_id).status == "answered"
    assert values(monitor, number)[("D1", "vitals")]["HR"] == 88
    [answer] = [m for m in monitor.monitoring.thread(query_id) if m.transition == "answer"]
    assert answer.correction and answer.username == "nurse1"

    with pytest.raises(StoreError, match="reason"):
        monitor.monitoring.reopen_query(query_id, " ")
    monitor.monitoring.reopen_query(query_id, "please attach the time of the reading")
    sync(monitor), sync(nurse)
    assert nurse.monitoring.query(query_id).status == "open"
    nurse.monitoring.answer_query(query_id, "read at 10:00 by the ward nurse")
    sync(nurse), sync(monitor)
    monitor.monitoring.close_query(query_id)
    sync(monitor), sync(nurse)
    assert nurse.monitoring.query(query_id).status == "closed"

    # data changed after closing: closed_modified, here at once and everywhere once the server says so
    save(nurse, number, "D1", "vitals", {"HR": 90}, reason="re-measured")
    assert nurse.monitoring.query(query_id).status == "closed_modified"
    sync(nurse), sync(monitor)
    assert monitor.monitoring.query(query_id).status == "closed_modified"
    transitions = [m.transition for m in monitor.monitoring.thread(query_id)]
    assert transitions == ["open", "answer", "reopen", "answer", "close", "modified"]
    assert [m.transition for m in nurse.monitoring.thread(query_id)][:5] == transitions[:5]
    with server.engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM monitoring_query WHERE id = :q"), {"q": query_id}).scalar()
        rejected = conn.execute(text("SELECT count(*) FROM change WHERE disposition = 'rejected'")).scalar()
    assert (status, rejected) == ("closed_modified", 0)
    assert nurse.verify_audit().ok and monitor.verify_audit().ok
    nurse.close(), monitor.close()
