"""A large push's seals are checked by a worker process while the batch is applied (`server.seal_proofs`).
Nothing is trusted early: a forged seal in such a batch refuses exactly the changes it covers, as a
seal checked in the request thread does, and a worker that dies loses nothing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from forge import sql
from live_server import LiveServer, backends, database_url, laptop, open_server_db, site_with_users
from sqlalchemy import select
from sync_fixtures import VITALS, save, server_state

from cik_ecrf.server import seal_proofs
from cik_ecrf.server.authorship import ChangeSeal, DeviceAnchor
from cik_ecrf.server.models import Change as ChangeRow
from cik_ecrf.store.api import Store
from cik_ecrf.sync.client import SyncClient

MEASURED_ONCE: dict[str, dict[str, Any]] = {"screening": {"HEIGHT": 150.0, "ECOG": 0}, "baseline": {"ECOG": 0}}
VISITS = ["screening", "baseline", "D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7"]


@pytest.fixture(params=backends())
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=(("nurse1", "nurse"),))
        with LiveServer(engine) as live:  # in this process: its seal worker is this process's child
            yield engine, live
        engine.dispose()


def enter_forms(store: Store, subjects: int) -> int:
    """Ten vitals forms per subject, offline; returns how many changes wait to be pushed."""
    for _ in range(subjects):
        number = store.add_subject()
        for visit in VISITS:
            save(store, number, visit, "vitals", {**VITALS, **MEASURED_ONCE.get(visit, {})})
    waiting = store.sync_status().waiting
    assert waiting >= seal_proofs.OFFLOAD_AT, "the batch must be large enough for the worker"
    return waiting


def seal_workers() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.is_alive()]


def test_a_forged_seal_in_a_batch_the_worker_checks_refuses_exactly_its_changes(
    site: Any, tmp_path: Path, study: Any
) -> None:
    engine, live = site
    nurse = laptop(tmp_path / "a", live.url, "nurse1", study)
    enter_forms(nurse, 5)
    seals = sql(nurse, "SELECT first_seq, last_seq, signature FROM audit_seal ORDER BY first_seq")
    first, last, _ = seals[len(seals) // 2]  # a save in the middle of the batch
    other = seals[len(seals) // 2 + 1][2]  # a real signature, of another save
    sql(nurse, "UPDATE audit_seal SET signature = ? WHERE first_seq = ?", other, first)

    outcome = SyncClient(nurse).run()

    assert outcome.error is None, outcome.error
    assert seal_workers(), "the seals of a batch this large are checked by the worker process"
    covered = last - first + 1
    assert len(outcome.rejected) == covered, outcome.rejected
    assert all("does not match these changes" in r for r in outcome.rejected), outcome.rejected
    with engine.connect() as conn:
        refused = conn.execute(
            select(ChangeRow.device_seq).where(ChangeRow.disposition == "rejected").order_by(ChangeRow.device_seq)
        ).scalars()
        assert list(refused) == list(range(first, last + 1))
        kept = set(conn.execute(select(ChangeSeal.first_seq)).scalars())
        assert first not in kept and len(kept) == len(seals) - 1  # the forged seal is not kept as evidence
        anchor = conn.execute(select(DeviceAnchor.device_seq, DeviceAnchor.flag_reason)).one()
    assert anchor.device_seq == seals[-1][1] and anchor.flag_reason is None
    state = server_state(engine)
    assert len(state["fields"]) > 0
    nurse.close()


def test_a_seal_worker_that_dies_loses_nothing(site: Any, tmp_path: Path, study: Any) -> None:
    engine, live = site
    first = laptop(tmp_path / "a", live.url, "nurse1", study)
    waiting = enter_forms(first, 5)
    assert SyncClient(first).run().pushed == waiting  # starts the worker
    workers = seal_workers()
    assert workers
    for worker in workers:
        worker.kill()
        worker.join()

    second = laptop(tmp_path / "b", live.url, "nurse1", study)
    waiting = enter_forms(second, 5)
    outcome = SyncClient(second).run()

    assert outcome.error is None and not outcome.rejected, (outcome.error, outcome.rejected)
    assert outcome.pushed == waiting  # checked in the request thread instead
    [(device,)] = sql(second, "SELECT value FROM meta WHERE key = 'device_id'")
    with engine.connect() as conn:
        logged = conn.execute(select(ChangeRow.disposition).where(ChangeRow.device_id == device)).scalars().all()
    assert logged and "rejected" not in logged
    third = laptop(tmp_path / "c", live.url, "nurse1", study)
    waiting = enter_forms(third, 5)
    assert SyncClient(third).run().pushed == waiting
    assert seal_workers(), "a new worker is started for the next large push"
    for store in (first, second, third):
        store.close()
