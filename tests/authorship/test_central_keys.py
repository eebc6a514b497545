"""Central users on the site's laptops: nothing password-equivalent leaves the server; a password set
centrally reaches every laptop of the site at its next sync (the new one opens them, the old one
nothing); a central investigator signs on a laptop he never used, and the server takes it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from devices import client, enrol_with_keys
from live_server import PASSWORD, LiveServer, backends, database_url, laptop, open_server_db, site_with_users
from sqlalchemy import text
from sync_fixtures import VITALS, save, server_state, sync

from cik_ecrf.core import crypto, keys
from cik_ecrf.server import admin
from cik_ecrf.store.api import Store
from cik_ecrf.store.errors import AuthError
from cik_ecrf.store.keyring import Keyring

USERS = (("nurse1", "nurse"), ("nurse2", "nurse"), ("dr.li", "investigator"), ("mon1", "monitor"))
NEW_PASSWORD = "Lantern-5-harbour"


@pytest.fixture(params=backends())
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        admin.add_site(engine, "SH02", "Site SH02")
        admin.add_user(engine, "dr.wang", "investigator", "SH02", PASSWORD)
        with LiveServer(engine) as live:
            yield engine, live
        engine.dispose()


def test_users_sends_public_keys_and_locked_keys_only(site: Any) -> None:
    """What /users and enrolment send, even to a monitor's laptop, is no password equivalent: only
    public keys, and private keys that open with the password alone (one argon2id per guess)."""
    engine, live = site
    http, _device, _ = enrol_with_keys(live, "mon1")
    answer = http.get("/users")
    assert answer.status_code == 200
    users = answer.json()["users"]
    assert {u["username"] for u in users} == {"nurse1", "nurse2", "dr.li", "mon1"}  # this site's only
    for user in users:
        assert "login" not in user and "password_hash" not in json.dumps(user)
        record = user["keys"]
        assert set(record) == {"key_id", "sign", "box", "locked"}
        assert set(record["locked"]) == {"kdf", "nonce", "wrapped"} and record["locked"]["kdf"]["alg"] == "argon2id"
        assert keys.unlock(record["locked"], user["username"], record["key_id"], "Not-the-password-1") is None
        assert keys.unlock(record["locked"], user["username"], record["key_id"], PASSWORD) is not None
        # nothing in the record opens anything without the password: not the salt, not the public keys
        for value in (record["sign"], record["box"], record["locked"]["kdf"]["salt"]):
            assert crypto.unwrap(record["locked"], base64.b64decode(value).hex(), b"") is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_account WHERE login_key IS NOT NULL")).scalar() == 0
    assert client(live).get("/users").status_code == 401


def test_a_central_password_change_reaches_every_laptop_of_the_site(site: Any, tmp_path: Path, study: Any) -> None:
    engine, live = site
    a = laptop(tmp_path / "a", live.url, "nurse1", study)
    b = laptop(tmp_path / "b", live.url, "nurse2", study)
    sync(a), sync(b)
    for directory in (tmp_path / "a", tmp_path / "b"):  # the store key sealed to each user, nothing else
        entry = Keyring(directory).read()["users"]["dr.li"]
        assert set(entry) == {"key_id", "locked", "sealed", "central"}
    a.close(), b.close()
    admin.set_password(engine, "dr.li", NEW_PASSWORD)
    for directory in (tmp_path / "a", tmp_path / "b"):
        with Store.open(directory, "nurse1" if directory.name == "a" else "nurse2", PASSWORD, study) as store:
            sync(store)
    for directory in (tmp_path / "a", tmp_path / "b"):
        with Store.open(directory, "dr.li", NEW_PASSWORD, study) as doctor:
            assert doctor.actor.role == "investigator"
        with pytest.raises(AuthError):
            Store.open(directory, "dr.li", PASSWORD, study)  # the old password opens nothing here
    refused = client(live).post("/enrol", json={"username": "dr.li", "password": PASSWORD, "device_id": "x" * 36})
    assert refused.status_code == 401  # nor on the server


def test_a_central_investigator_signs_on_another_laptop_of_the_site(site: Any, tmp_path: Path, study: Any) -> None:
    engine, live = site
    b = laptop(tmp_path / "b", live.url, "nurse2", study)  # dr.li never used this laptop
    number = b.add_subject()
    instance = save(b, number, "D1", "vitals", VITALS)
    sync(b)
    b.close()
    admin.set_password(engine, "dr.li", NEW_PASSWORD)  # and his password changed centrally since
    with Store.open(tmp_path / "b", "nurse2", PASSWORD, study) as nurse:
        sync(nurse)
    with Store.open(tmp_path / "b", "dr.li", NEW_PASSWORD, study) as doctor:
        with pytest.raises(AuthError, match="wrong password"):
            doctor.sign(number, "D1", "vitals", meaning="approve", username="dr.li", password=PASSWORD)
        result = doctor.sign(number, "D1", "vitals", meaning="approve", username="dr.li", password=NEW_PASSWORD)
        assert result.signature.active
        outcome = sync(doctor)
        assert outcome.rejected == () and outcome.waiting == 0
        assert doctor.verify_authorship().problems == ()
    assert [s for i, _, _, s in server_state(engine)["forms"] if i == instance] == ["signed"]
    with engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM change WHERE action = 'signature'")).scalar()
    payload = json.loads(json.loads(body)["new_json"])
    assert payload["key_id"] and payload["sig"]  # the crypto signature travelled with it


def test_a_user_of_another_site_cannot_sign_in_on_this_sites_laptop(site: Any, tmp_path: Path, study: Any) -> None:
    _engine, live = site
    a = laptop(tmp_path / "a", live.url, "nurse1", study)
    sync(a)
    a.close()
    with pytest.raises(AuthError):
        Store.open(tmp_path / "a", "dr.wang", PASSWORD, study)
