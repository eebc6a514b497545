"""Push and pull between laptops of one site through a real server: data arrives once, different
fields of the same form merge, the same field becomes a conflict on every laptop and is resolved
only by an audited change with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_server import LiveServer, backends, database_url, laptop, open_server_db, site_with_users
from sync_fixtures import VITALS, laptop_events, local_state, save, server_changes, server_state, sync, values

from cik_ecrf.store.errors import StoreError


@pytest.fixture(params=backends())
def server(request: pytest.FixtureRequest, tmp_path: Path):
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine)
        with LiveServer(engine) as live:
            yield live
        engine.dispose()


def test_a_form_entered_on_one_laptop_reaches_the_other(server: LiveServer, tmp_path: Path, study) -> None:
    a = laptop(tmp_path / "a", server.url, "nurse1", study)
    b = laptop(tmp_path / "b", server.url, "nurse2", study)
    number = a.add_subject()
    save(a, number, "D1", "vitals", VITALS)
    first = sync(a)
    assert first.pushed > 0 and first.waiting == 0 and first.ok
    pulled = sync(b)
    assert pulled.pulled > 0
    assert values(b, number)[("D1", "vitals")] == values(a, number)[("D1", "vitals")]
    again = sync(a)
    assert (again.pushed, again.waiting) == (again.pushed, 0)
    sync(b)
    assert local_state(a) == local_state(b)
    assert b.verify_audit().ok and a.verify_audit().ok
    assert set(laptop_events(a)) <= set(server_changes(server.engine))
    a.close(), b.close()


def test_different_fields_merge_and_the_same_field_conflicts(server: LiveServer, tmp_path: Path, study) -> None:
    a = laptop(tmp_path / "a", server.url, "nurse1", study)
    b = laptop(tmp_path / "b", server.url, "nurse2", study)
    number = a.add_subject()
    instance = save(a, number, "D1", "vitals", VITALS)
    sync(a), sync(b)
    # offline: A changes HR and TEMP, B changes RESP and TEMP
    save(a, number, "D1", "vitals", {"HR": 90, "TEMP": 37.1}, reason="re-measured")
    save(b, number, "D1", "vitals", {"RESP": 24, "TEMP": 38.2}, reason="re-measured")
    sync(a)
    outcome = sync(b)
    assert outcome.conflicts == 1
    sync(a)
    for laptop_ in (a, b):
        data = values(laptop_, number)[("D1", "vitals")]
        assert data["HR"] == 90 and data["RESP"] == 24  # both kept
        [conflict] = laptop_.conflicts()
        assert (conflict.field_id, conflict.instance_id) == ("TEMP", instance)
        assert sorted(str(c.value) for c in conflict.candidates) == ["37.1", "38.2"]
        assert {c.username for c in conflict.candidates} == {"nurse1", "nurse2"}
    assert local_state(a) == local_state(b)
    assert server_state(server.engine)["conflicts"] == [(instance, "TEMP", "37.1")]
    with pytest.raises(StoreError, match="reason"):
        b.resolve_conflict(instance, "TEMP", "38.2", "")
    b.resolve_conflict(instance, "TEMP", "38.2", "checked the chart: 38.2 at 10:00")
    assert b.conflicts() == []
    sync(b), sync(a)
    assert a.conflicts() == [] and values(a, number)[("D1", "vitals")]["TEMP"] == 38.2
    assert local_state(a) == local_state(b)
    assert server_state(server.engine)["conflicts"] == []
    resolve = [e for e in a.audit_events(number) if e.action == "conflict_resolve"]
    assert resolve and resolve[0].reason.startswith("checked the chart") and resolve[0].username == "nurse2"
    a.close(), b.close()


def test_own_offline_edits_one_after_another_are_not_a_conflict(server: LiveServer, tmp_path: Path, study) -> None:
    a = laptop(tmp_path / "a", server.url, "nurse1", study)
    number = a.add_subject()
    save(a, number, "D1", "vitals", VITALS)
    sync(a)
    for hr in (81, 82, 83):
        save(a, number, "D1", "vitals", {"HR": hr}, reason="typo")
    outcome = sync(a)
    assert outcome.conflicts == 0 and outcome.ok
    assert values(a, number)[("D1", "vitals")]["HR"] == 83
    a.close()
