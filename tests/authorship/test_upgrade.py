"""Upgrading to per-user keys: a server's existing users get keys their current password opens (from
the login keys it kept) and the login keys are erased; a laptop user from before keys gets them at the
next login, the password being there then; the device chain and the protocol's field list agree."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import text

from cik_ecrf.core import crypto, keys
from cik_ecrf.events.change import CHANGE_FIELDS
from cik_ecrf.server.database import _config, make_engine, migrate
from cik_ecrf.store import access, integrity
from cik_ecrf.store.api import Store
from cik_ecrf.store.keyring import Keyring

PASSWORD = "Ward7night42"


def test_the_device_chain_covers_exactly_what_a_change_carries() -> None:
    assert keys.CHAINED == CHANGE_FIELDS


def test_server_users_from_before_keys_get_keys_their_password_opens(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    kdf, derived = crypto.login_key(PASSWORD, crypto.KdfParams.from_env())
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, "s0013")
        conn.execute(text("INSERT INTO site (code, name, created_at) VALUES ('BJ01', 'Site', 't')"))
        conn.execute(
            text(
                "INSERT INTO user_account (id, username, full_name, role, site_code, password_hash, active, created_at, "
                "login_kdf, login_key, password_set_at) VALUES ('u1', 'dr.li', 'Dr Li', 'investigator', 'BJ01', 'h', 1, "
                "'t', :kdf, :key, 't')"
            ),
            {"kdf": json.dumps(kdf), "key": base64.b64encode(derived).decode()},
        )
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT login_key FROM user_account")).scalar() is None
        key_id, locked = conn.execute(text("SELECT key_id, locked FROM user_key WHERE user_id = 'u1'")).one()
    assert keys.unlock(json.loads(locked), "dr.li", key_id, PASSWORD) is not None
    assert keys.unlock(json.loads(locked), "dr.li", key_id, "Wrong-password-1") is None
    engine.dispose()


def test_a_laptop_user_from_before_keys_gets_them_at_the_next_login(tmp_path: Path, study: Any) -> None:
    Store.init(tmp_path, "BJ01", "admin1", PASSWORD, role="nurse")
    with Store.open(tmp_path, "admin1", PASSWORD, study) as store:
        data_key = store._data_key()
    with integrity.connect(tmp_path, data_key, writable=True) as conn:  # as migration 0007 leaves a store
        conn.execute("DELETE FROM user_key")
        conn.execute("UPDATE audit_seal SET signature = NULL, username = NULL, key_id = NULL")
        conn.execute("INSERT INTO meta (key, value) SELECT 'sealed_from', max(last_seq) + 1 FROM audit_seal")
    with Keyring(tmp_path).locked() as data:  # the keyring as it was: the store key wrapped under the password
        data["users"]["admin1"] = crypto.wrap(
            data_key, PASSWORD, crypto.KdfParams.from_env(), b"cik-ecrf:" + data["store_id"].encode() + b":admin1"
        )
    with Store.open(tmp_path, "admin1", PASSWORD, study) as store:
        assert store.signer is not None
        store.add_subject()
        check = store.verify_authorship()
        assert check.problems == () and any("before per-user keys" in n for n in check.notes)
    entry = Keyring(tmp_path).read()["users"]["admin1"]
    assert set(entry) == {"key_id", "locked", "sealed", "central"}
    assert access.prove(tmp_path, "admin1", PASSWORD) is not None
