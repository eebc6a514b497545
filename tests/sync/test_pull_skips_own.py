"""Issue 19: a laptop's own value changes coming back in the pull are not written again when the push
answer already marked them as the server holds them. The laptop ends exactly as if they had been
written: the same values, server versions, authors and times as a laptop that pulled them; a change
of another laptop that came in between is still applied in the server's order; a laptop restored from
an older copy still gets its lost changes back."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from live_server import PASSWORD, LiveServer, backends, database_url, laptop, open_server_db, site_with_users
from sync_fixtures import VITALS, local_state, save, server_state, sync, values

from cik_ecrf.store.api import Store
from cik_ecrf.store.files import DB_FILE


@pytest.fixture(params=backends())
def server(request: pytest.FixtureRequest, tmp_path: Path):
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine)
        with LiveServer(engine) as live:
            yield live
        engine.dispose()


def field_rows(store: Store) -> list[tuple[Any, ...]]:
    """Every field as the laptop holds it, with its server version, time and author (by name)."""
    with store.unit_of_work() as session:
        return sorted(
            tuple(r)
            for r in session.connection().exec_driver_sql(
                "SELECT f.instance_id, f.field_id, f.value_json, f.server_version, f.updated_at, u.username "
                'FROM field_value f JOIN "user" u ON u.id = f.updated_by'
            )
        )


def value_events(store: Store, action: str = "value_set") -> int:
    with store.unit_of_work() as session:
        return (
            session.connection()
            .exec_driver_sql("SELECT count(*) FROM audit_event WHERE action = ?", (action,))
            .scalar_one()
        )


def server_fields(server: LiveServer) -> list[tuple[Any, ...]]:
    return sorted((i, f, v, version) for i, f, v, version in server_state(server.engine)["fields"])


def test_the_first_sync_writes_none_of_the_laptops_own_values_again_and_ends_as_a_pulling_laptop(
    server: LiveServer, tmp_path: Path, study: Any
) -> None:
    a = laptop(tmp_path / "a", server.url, "nurse1", study)
    for _ in range(2):
        number = a.add_subject()
        for visit in ("D1", "D2", "D3"):
            save(a, number, visit, "vitals", VITALS)
    save(a, number, "D3", "vitals", {"HR": 91, "TEMP": None}, reason="re-measured", draft=True)  # and a clear
    first = sync(a, push_batch=7, pull_batch=5)  # several batches and pages
    assert first.ok and first.pulled == 0
    # every own value change is left alone, but for the two fields changed twice before this sync: the
    # pull writes both of their changes, in order, as before (the first is not what the field holds)
    assert first.held == value_events(a) + value_events(a, "value_clear") - 4
    # every field holds the server's value and version, as if the pull had written it
    assert [(i, f, v, version) for i, f, v, version, _, _ in field_rows(a)] == server_fields(server)
    # a second laptop that pulls everything holds exactly the same, authors and times included
    b = laptop(tmp_path / "b", server.url, "nurse2", study)
    pulled = sync(b)
    assert pulled.pulled > 0 and pulled.held == 0
    assert field_rows(b) == field_rows(a) and local_state(b) == local_state(a)
    again = sync(a)
    assert (again.pulled, again.held) == (0, 0)
    # the next change of a field goes from the version the push answer recorded: no conflict
    save(b, number, "D1", "vitals", {"HR": 70}, reason="re-measured")
    save(a, number, "D2", "vitals", {"HR": 72}, reason="re-measured")
    assert sync(b).conflicts == 0 and sync(a).conflicts == 0 and sync(b).conflicts == 0
    assert field_rows(a) == field_rows(b) and local_state(a) == local_state(b)
    assert a.verify_audit().ok and b.verify_audit().ok
    a.close(), b.close()


@pytest.mark.parametrize("pull_batch", [5000, 1])
def test_a_change_of_another_laptop_that_came_first_is_still_overwritten_by_the_own_one(
    server: LiveServer, tmp_path: Path, study: Any, pull_batch: int
) -> None:
    """B sets HR to 90 and syncs; A, not having pulled it, sets the same value: merged after B's. A's pull
    brings B's change (which writes the field) and then its own, which must be written again (its
    version and author are the field's on the server), in one page or in two."""
    a = laptop(tmp_path / "a", server.url, "nurse1", study)
    b = laptop(tmp_path / "b", server.url, "nurse2", study)
    number = a.add_subject()
    save(a, number, "D1", "vitals", VITALS)
    sync(a), sync(b)
    save(b, number, "D1", "vitals", {"HR": 90, "RESP": 30}, reason="re-measured")
    sync(b)
    save(a, number, "D1", "vitals", {"HR": 90, "TEMP": 37.9}, reason="re-measured")
    outcome = sync(a, pull_batch=pull_batch)
    assert outcome.ok and outcome.conflicts == 0
    assert outcome.held == 1  # TEMP only: HR comes after B's change to it
    assert [(i, f, v, version) for i, f, v, version, _, _ in field_rows(a)] == server_fields(server)
    hr = [r for r in field_rows(a) if r[1] == "HR"]
    assert [r[5] for r in hr] == ["nurse1"]  # A's merged change is the field's last on the server
    sync(b)
    assert field_rows(a) == field_rows(b) and local_state(a) == local_state(b)
    a.close(), b.close()


def test_a_laptop_restored_from_an_older_copy_gets_its_own_lost_changes_back(
    server: LiveServer, tmp_path: Path, study: Any
) -> None:
    here, backup = tmp_path / "a", tmp_path / "backup"
    a = laptop(here, server.url, "nurse1", study)
    first = a.add_subject()
    save(a, first, "D1", "vitals", VITALS)
    sync(a)
    a.close()
    shutil.copytree(here, backup)  # the whole folder: nothing beside the store remembers
    a = Store.open(here, "nurse1", PASSWORD, study=study)
    second = a.add_subject()  # lost by the restore: on the server only
    save(a, second, "D1", "vitals", {**VITALS, "HR": 77})
    save(a, first, "D1", "vitals", {"HR": 90, "RESP": 25}, reason="re-measured")
    assert sync(a).held > 0
    before = field_rows(a)
    a.close()
    shutil.rmtree(here)
    shutil.copytree(backup, here)
    assert (here / DB_FILE).exists()
    a = Store.open(here, "nurse1", PASSWORD, study=study)
    outcome = sync(a)
    assert outcome.ok, outcome
    assert sorted(a.subject_numbers()) == sorted([first, second])
    assert values(a, second)[("D1", "vitals")]["HR"] == 77
    assert values(a, first)[("D1", "vitals")]["HR"] == 90 and values(a, first)[("D1", "vitals")]["RESP"] == 25
    assert field_rows(a) == before  # the lost changes were written back, exactly as they were
    assert [(i, f, v, version) for i, f, v, version, _, _ in field_rows(a)] == server_fields(server)
    a.close()
