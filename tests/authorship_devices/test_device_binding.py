"""A device id is bound to the laptop that enrolled it first, and a revoked device stays revoked until an
administrator on the server allows it again. Every pulled change names its device id, so the attacker
here is any user of the site who read another laptop's id from a pulled change."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from live_server import PASSWORD, LiveServer, laptop, open_server_db
from sync_fixtures import VITALS, save, sync

from cik_ecrf.cli import main
from cik_ecrf.server import admin
from cik_ecrf.server.database import ServerError
from cik_ecrf.server.devices import allow_device, permits
from cik_ecrf.sync.client import SyncClient
from cik_ecrf.sync.protocol import API


def _enrol(server: LiveServer, user: str, device_id: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{server.url}{API}/enrol",
        json={"username": user, "password": PASSWORD, "device_id": device_id},
        headers=headers,
    )


def test_enrolling_with_a_device_id_another_laptop_holds_is_refused(db_url: str, tmp_path: Path, study) -> None:
    engine = open_server_db(db_url)
    with LiveServer(engine) as server:
        victim = laptop(tmp_path / "victim", server.url, "nurse1", study)
        number = victim.add_subject()
        save(victim, number, "D1", "vitals", VITALS)
        sync(victim)
        attacker = laptop(tmp_path / "attacker", server.url, "nurse2", study)
        sync(attacker)
        # the victim's device id, as every pulled change shows it
        stolen = next(e.device_id for e in attacker.audit_events() if e.username == "nurse1")
        assert stolen == victim.sync_device()[0]
        refused = _enrol(server, "nurse2", stolen)
        assert refused.status_code == 409 and "another laptop" in refused.json()["detail"]
        # with the attacker's own token as "proof": still not the victim's
        refused = _enrol(server, "nurse2", stolen, attacker.sync_settings()["token"])
        assert refused.status_code == 409
        # the victim's token still works, the victim keeps syncing
        save(victim, number, "D1", "vitals", {"HR": 91}, reason="re-measured")
        assert sync(victim).ok
        victim.close(), attacker.close()
    engine.dispose()


def test_a_laptop_enrols_again_with_its_own_token(
    db_url: str, tmp_path: Path, study, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    engine = open_server_db(db_url)
    with LiveServer(engine) as server:
        store = laptop(tmp_path / "a", server.url, "nurse1", study)
        device_id, _, code = store.sync_device()
        old = store.sync_settings()["token"]
        store.close()
        assert main(["enrol", "--server", server.url, "--data-dir", str(tmp_path / "a"), "--user", "nurse1"]) == 0
        store = laptop_open(tmp_path / "a", study)
        assert store.sync_settings()["token"] != old and store.sync_device() == (device_id, "BJ01", code)
        assert sync(store).ok
        assert _enrol(server, "nurse1", device_id, old).status_code == 409  # the replaced token proves nothing now
        store.close()
    engine.dispose()


def test_a_revoked_device_enrols_again_only_when_an_administrator_allows_it(
    db_url: str, tmp_path: Path, study, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    engine = open_server_db(db_url)
    with LiveServer(engine) as server:
        store = laptop(tmp_path / "a", server.url, "nurse1", study)
        device_id = store.sync_device()[0]
        token = store.sync_settings()["token"]
        store.close()
        assert main(["server", "device", "revoke", device_id, "--database-url", db_url]) == 0
        laptop_args = ["--data-dir", str(tmp_path / "a"), "--user", "nurse1"]
        assert main(["sync", *laptop_args]) == 1
        assert "administrator" in capsys.readouterr().err
        # neither the laptop (with its old token) nor anyone else enrols it again
        assert main(["enrol", "--server", server.url, *laptop_args]) == 1
        assert "revoked" in capsys.readouterr().err
        assert _enrol(server, "nurse1", device_id, token).status_code == 403
        assert _enrol(server, "nurse2", device_id).status_code == 403
        # the administrator's leave needs a reason, a known device and a revoked one
        assert main(["server", "device", "allow", device_id, "--database-url", db_url, "--reason", " "]) == 1
        assert main(["server", "device", "allow", str(uuid.uuid4()), "--database-url", db_url, "--reason", "x"]) == 1
        capsys.readouterr()
        allowed = ["server", "device", "allow", device_id, "--database-url", db_url]
        assert main([*allowed, "--reason", "laptop found; checked by IT", "--user", "nurse1"]) == 0
        assert "may enrol again" in capsys.readouterr().out
        assert _enrol(server, "nurse2", device_id).status_code == 403  # the leave names nurse1
        assert main(["enrol", "--server", server.url, *laptop_args]) == 0
        assert main(["sync", *laptop_args]) == 0
        [permit] = permits(engine, device_id)
        assert permit["reason"] == "laptop found; checked by IT" and permit["used_by"] == "nurse1"
        assert permit["used_at"] and permit["allowed_at"]
        # one leave, one enrolment: revoked again, it waits for a new leave
        admin.revoke_device(engine, device_id)
        assert main(["enrol", "--server", server.url, *laptop_args]) == 1
        other = laptop(tmp_path / "b", server.url, "nurse2", study)
        with pytest.raises(ServerError, match="not revoked"):
            allow_device(engine, other.sync_device()[0], "why")
        other.close()
    engine.dispose()


def test_a_leave_without_a_named_user_serves_only_the_laptop_holding_the_last_token(
    db_url: str, tmp_path: Path, study, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    engine = open_server_db(db_url)
    with LiveServer(engine) as server:
        store = laptop(tmp_path / "a", server.url, "nurse1", study)
        device_id = store.sync_device()[0]
        store.close()
        admin.revoke_device(engine, device_id)
        allow_device(engine, device_id, "laptop back from repair")
        refused = _enrol(server, "nurse2", device_id)  # a user of the site who read the id: no token
        assert refused.status_code == 403 and "last token" in refused.json()["detail"]
        assert main(["enrol", "--server", server.url, "--data-dir", str(tmp_path / "a"), "--user", "nurse1"]) == 0
        [permit] = permits(engine, device_id)
        assert permit["used_by"] == "nurse1"
    engine.dispose()


def test_another_sites_user_cannot_take_a_device_even_with_leave(db_url: str, tmp_path: Path, study) -> None:
    engine = open_server_db(db_url)
    with LiveServer(engine) as server:
        store = laptop(tmp_path / "a", server.url, "nurse1", study)
        device_id = store.sync_device()[0]
        store.close()
        admin.revoke_device(engine, device_id)
        allow_device(engine, device_id, "re-issued")
        assert _enrol(server, "nurse9", device_id).status_code == 403  # SH02's nurse
        with pytest.raises(ServerError, match="no user of site BJ01"):
            allow_device(engine, device_id, "re-issued", "nurse9")
    engine.dispose()


def laptop_open(directory: Path, study):
    from cik_ecrf.store.api import Store

    return Store.open(directory, "nurse1", PASSWORD, study=study)


def test_push_with_another_laptops_device_id_is_refused(db_url: str, tmp_path: Path, study) -> None:
    """The other thing a device id could be used for: pushing changes in that laptop's name."""
    engine = open_server_db(db_url)
    with LiveServer(engine) as server:
        victim = laptop(tmp_path / "victim", server.url, "nurse1", study)
        attacker = laptop(tmp_path / "attacker", server.url, "nurse2", study)
        number = attacker.add_subject()
        [event] = [e for e in attacker.sync_outbox(10) if e["action"] == "subject_add"]
        forged = {**event, "device_id": victim.sync_device()[0], "device_seq": 1}
        answer = httpx.post(
            f"{server.url}{API}/push",
            json={"changes": [forged]},
            headers={"Authorization": f"Bearer {attacker.sync_settings()['token']}"},
        )
        assert answer.json()["results"][0]["disposition"] == "rejected"
        assert number not in [n for n in SyncClient(victim).store.subject_numbers()]
        victim.close(), attacker.close()
    engine.dispose()
