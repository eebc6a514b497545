"""Fault tests over a real server on loopback: a reply lost after the server committed, the server
killed mid-batch and restarted, the client killed mid-push and mid-pull, a poison change, a revoked
token. After each, the server holds exactly the union of the laptops' changes (counted and hashed:
nothing lost, nothing twice) and the laptops agree with each other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import (
    PASSWORD,
    LiveServer,
    ServerProcess,
    backends,
    database_url,
    laptop,
    open_server_db,
    site_with_users,
    sync_process,
)
from proxy import Proxy
from sync_fixtures import VITALS, laptop_events, local_state, save, server_changes, server_state, sync, union_digest

from cik_ecrf.cli import main
from cik_ecrf.server import admin
from cik_ecrf.server.devices import allow_device
from cik_ecrf.store.api import Store
from cik_ecrf.sync.client import SyncClient

VISITS = ("D0", "D1", "D2", "D3", "D4")


@pytest.fixture(params=backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine)
        engine.dispose()
        yield url


def enter_forms(store: Store, subjects: int = 2) -> None:
    for _ in range(subjects):
        number = store.add_subject()
        for visit in VISITS:
            save(store, number, visit, "vitals", VITALS)


def pushed_events(store: Store) -> dict[str, str]:
    """This laptop's events the server acknowledged (those after the mark are still to go)."""
    mark = int(store.sync_settings()["pushed"] or 0)
    device_id = store.sync_device()[0]
    by_seq = {e.id: e.device_seq for e in store.audit_events() if e.device_id == device_id}
    return {cid: digest for cid, digest in laptop_events(store).items() if by_seq[cid] <= mark}


def assert_union(url: str, *stores: Store) -> None:
    engine = open_server_db(url)
    try:
        on_server = server_changes(engine)
        union: dict[str, str] = {}
        for store in stores:
            union |= pushed_events(store)
        assert len(on_server) == len(union)  # counted: nothing twice, nothing missing
        assert union_digest(on_server) == union_digest(union)  # hashed: the same changes
    finally:
        engine.dispose()


def point_at(store: Store, url: str) -> None:
    store.set_sync_settings(server_url=url)


def test_reply_lost_after_the_server_committed(db_url: str, tmp_path: Path, study) -> None:
    engine = open_server_db(db_url)
    with LiveServer(engine) as server, Proxy(server.port) as proxy:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        b = laptop(tmp_path / "b", server.url, "nurse2", study)
        point_at(a, proxy.url), point_at(b, proxy.url)
        enter_forms(a)
        proxy.drop_reply(b"POST /api/v1/push")
        lost = SyncClient(a).run()
        assert lost.error is not None and proxy.dropped == 1
        assert server_changes(engine)  # the server did commit the batch
        retried = sync(a)
        assert retried.ok
        proxy.drop_reply(b"GET /api/v1/pull")
        assert SyncClient(b).run().error is not None
        sync(b)
        assert local_state(a) == local_state(b)
        assert_union(db_url, a, b)
        assert a.verify_audit().ok and b.verify_audit().ok
        a.close(), b.close()
    engine.dispose()


def test_server_killed_mid_batch_and_restarted(db_url: str, tmp_path: Path, study) -> None:
    with ServerProcess(db_url, tmp_path / "server.log") as server, Proxy(server.port) as proxy:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        point_at(a, proxy.url)
        enter_forms(a, subjects=3)
        proxy.hook(b"POST /api/v1/push", server.kill, nth=2, after=True)
        broken = SyncClient(a, push_batch=40).run()
        assert broken.error is not None and broken.waiting > 0
        server.start()
        assert sync(a, push_batch=40).ok
        b = laptop(tmp_path / "b", server.url, "nurse2", study)
        sync(b)
        assert local_state(a) == local_state(b)
        assert_union(db_url, a, b)
        a.close(), b.close()


def test_client_killed_mid_push_and_mid_pull(db_url: str, tmp_path: Path, study) -> None:
    engine = open_server_db(db_url)
    with LiveServer(engine) as server, Proxy(server.port) as proxy:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        b = laptop(tmp_path / "b", server.url, "nurse2", study)
        point_at(a, proxy.url), point_at(b, proxy.url)
        enter_forms(a, subjects=3)
        a.close()
        child = sync_process(tmp_path / "a", "nurse1", "--batch", "40")
        proxy.hook(b"POST /api/v1/push", child.kill, nth=2, after=True)
        assert child.wait(timeout=120) != 0
        child.stdout.close(), child.stderr.close()  # type: ignore[union-attr]
        a = Store.open(tmp_path / "a", "nurse1", PASSWORD, study=study)
        assert a.verify_audit().ok
        assert sync(a).ok
        b.close()
        child = sync_process(tmp_path / "b", "nurse2", "--batch", "40")
        proxy.hook(b"GET /api/v1/pull", child.kill, nth=2, after=True)
        assert child.wait(timeout=120) != 0
        child.stdout.close(), child.stderr.close()  # type: ignore[union-attr]
        b = Store.open(tmp_path / "b", "nurse2", PASSWORD, study=study)
        assert b.verify_audit().ok
        sync(b), sync(a)
        assert local_state(a) == local_state(b)
        assert_union(db_url, a, b)
        a.close(), b.close()
    engine.dispose()


def test_a_poison_change_is_quarantined_while_the_rest_goes_through(
    db_url: str, tmp_path: Path, study, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_server_db(db_url)
    with LiveServer(engine) as server:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        b = laptop(tmp_path / "b", server.url, "nurse2", study)
        a.add_subject("PAPER-001")
        b.add_subject("PAPER-001")  # the same paper number, offline on two laptops
        good = b.add_subject()
        save(b, good, "D1", "vitals", VITALS)
        sync(a)
        monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
        assert (
            main(["sync", "--data-dir", str(tmp_path / "b"), "--user", "nurse2"]) == 1
        )  # headless: non-zero, with the reason
        out = capsys.readouterr().out
        # quarantined: its own refused subject, and the other laptop's PAPER-001 it cannot take beside it
        assert "refused" in out and "PAPER-001 is already taken" in out and b.sync_status().quarantined == 2
        again = sync(b)
        assert again.rejected == () and again.pushed < 10  # the poison change is not sent again
        sync(a)
        assert good in a.subject_numbers()
        assert_union(db_url, a, b)
        a.close(), b.close()
    engine.dispose()


def test_a_revoked_token_stops_sync_with_a_reason(
    db_url: str, tmp_path: Path, study, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = open_server_db(db_url)
    with LiveServer(engine) as server:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        device_id = a.sync_device()[0]
        a.close()
        admin.revoke_device(engine, device_id)
        monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
        assert main(["sync", "--data-dir", str(tmp_path / "a"), "--user", "nurse1"]) == 1
        assert "revoked" in capsys.readouterr().err
        enrol_again = ["enrol", "--server", server.url, "--data-dir", str(tmp_path / "a"), "--user", "nurse1"]
        assert main(enrol_again) == 1  # revocation sticks until an administrator allows the device again
        allow_device(engine, device_id, "the laptop was found")
        assert main(enrol_again) == 0
        assert main(["sync", "--data-dir", str(tmp_path / "a"), "--user", "nurse1"]) == 0
        assert server_state(engine)["subjects"] == []
    engine.dispose()
