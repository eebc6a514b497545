"""Encryption at rest: the argon2id key wrapping, its binding to user and store, and no key or data in clear.

Real stores in tmp_path; the wrapped-key format is also checked independently (argon2 + AES-GCM from
the libraries themselves), so a mislabelled KDF would be caught.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cik_ecrf.core import crypto
from cik_ecrf.store import access
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.store.errors import AuthError
from cik_ecrf.store.keyring import KEYRING

ADMIN, ADMIN_PW = "admin", "Harbour2026x"
NURSE, NURSE_FIRST, NURSE_PW = "wang.li", "FirstPass123", "Lantern4477q"
LIGHT = crypto.KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
AD = b"cik-ecrf:store-1:alice"


def _keyring(directory: Path) -> dict:
    return json.loads((directory / KEYRING).read_text(encoding="utf-8"))


def _write_keyring(directory: Path, data: dict) -> None:
    (directory / KEYRING).write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")


def _files(directory: Path) -> Iterator[Path]:
    return (p for p in directory.rglob("*") if p.is_file())


@pytest.fixture
def store_dir(tmp_path: Path, study) -> Path:
    """A store with an admin and a nurse (password changed), one subject and one saved form."""
    directory = tmp_path / "store"
    Store.init(directory, "BJ01", ADMIN, ADMIN_PW, device_code="K7")
    with Store.open(directory, ADMIN, ADMIN_PW, study) as store:
        store.add_user(NURSE, "nurse", NURSE_FIRST)
    with Store.open(directory, NURSE, NURSE_FIRST, study) as store:
        store.change_password(NURSE_FIRST, NURSE_PW)
        number = store.add_subject()
        store.save(
            SaveRequest(
                number,
                "subject",
                "adverse_events",
                {
                    "AETERM": "Zebrafish rash",
                    "AECAT": "OTHER",
                    "AESTDAT": "2026-01-20",
                    "AEONGO": "Y",
                    "AETOXGR": 1,
                    "AESER": "N",
                    "AEREL": "POSSIBLE",
                    "AEOUT": "RECOVERING",
                },
                draft=True,
            )
        )
    return directory


# ---------------------------------------------------------------------------- the KDF


def test_production_kdf_default_is_argon2id_64mib_t3(monkeypatch: pytest.MonkeyPatch) -> None:
    params = crypto.KdfParams()
    assert params.memory_kib >= 64 * 1024
    assert params.time_cost >= 3
    assert params.parallelism >= 1
    monkeypatch.delenv("CIK_ECRF_KDF_MEMORY_KIB", raising=False)
    assert crypto.KdfParams.from_env() == params


def test_test_kdf_override_never_goes_below_8_mib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIK_ECRF_KDF_MEMORY_KIB", "1024")
    assert crypto.KdfParams.from_env().memory_kib >= 8 * 1024


def test_wrapped_entry_is_really_argon2id_aes_gcm() -> None:
    """Re-derive with argon2id and open with AES-GCM independently of the project's unwrap."""
    key = crypto.new_data_key()
    entry = crypto.wrap(key, "Harbour2026x", crypto.KdfParams(), AD)
    kdf = entry["kdf"]
    assert kdf["alg"] == "argon2id" and kdf["m"] >= 64 * 1024 and kdf["t"] >= 3
    derived = hash_secret_raw(b"Harbour2026x", base64.b64decode(kdf["salt"]), kdf["t"], kdf["m"], kdf["p"], 32, Type.ID)
    assert AESGCM(derived).decrypt(base64.b64decode(entry["nonce"]), base64.b64decode(entry["wrapped"]), AD) == key


def test_store_created_without_override_uses_production_cost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIK_ECRF_KDF_MEMORY_KIB", raising=False)
    Store.init(tmp_path, "BJ01", ADMIN, ADMIN_PW, device_code="P1")
    kdf = _keyring(tmp_path)["users"][ADMIN]["locked"]["kdf"]  # the private keys under the password
    assert kdf["alg"] == "argon2id" and kdf["m"] >= 64 * 1024 and kdf["t"] >= 3


# ---------------------------------------------------------------------------- wrap / unwrap


def test_wrap_unwrap_round_trip() -> None:
    key = crypto.new_data_key()
    assert len(key) == 32
    entry = crypto.wrap(key, "Harbour2026x", LIGHT, AD)
    assert crypto.unwrap(entry, "Harbour2026x", AD) == key
    assert key not in json.dumps(entry).encode() and key.hex() not in json.dumps(entry)


def test_wrapping_is_salted_each_time() -> None:
    key = crypto.new_data_key()
    first, second = crypto.wrap(key, "Harbour2026x", LIGHT, AD), crypto.wrap(key, "Harbour2026x", LIGHT, AD)
    assert first["wrapped"] != second["wrapped"] and first["kdf"]["salt"] != second["kdf"]["salt"]
    assert crypto.new_data_key() != key


def test_wrong_password_gives_none() -> None:
    key = crypto.new_data_key()
    entry = crypto.wrap(key, "Harbour2026x", LIGHT, AD)
    assert crypto.unwrap(entry, "Harbour2026y", AD) is None
    assert crypto.unwrap(entry, "", AD) is None


def test_altered_entry_gives_none() -> None:
    entry = crypto.wrap(crypto.new_data_key(), "Harbour2026x", LIGHT, AD)
    raw = bytearray(base64.b64decode(entry["wrapped"]))
    raw[0] ^= 1
    assert crypto.unwrap({**entry, "wrapped": base64.b64encode(bytes(raw)).decode()}, "Harbour2026x", AD) is None


def test_entry_bound_to_user_and_store_by_associated_data() -> None:
    entry = crypto.wrap(crypto.new_data_key(), "Harbour2026x", LIGHT, b"cik-ecrf:store-1:alice")
    assert crypto.unwrap(entry, "Harbour2026x", b"cik-ecrf:store-1:bob") is None
    assert crypto.unwrap(entry, "Harbour2026x", b"cik-ecrf:store-2:alice") is None


def test_copy_moved_to_another_user_does_not_unlock(store_dir: Path) -> None:
    """The nurse's wrapped copy pasted into the admin's slot does not open with the nurse's password."""
    assert access.unlock_key(store_dir, NURSE, NURSE_PW)[0]  # the copy itself is good
    data = _keyring(store_dir)
    data["users"][ADMIN] = data["users"][NURSE]
    _write_keyring(store_dir, data)
    with pytest.raises(AuthError):
        access.unlock_key(store_dir, ADMIN, NURSE_PW)


def test_copy_moved_to_another_store_does_not_unlock(tmp_path: Path) -> None:
    """Two stores, same admin name and password: one store's wrapped copy does not open in the other."""
    first, second = tmp_path / "a", tmp_path / "b"
    Store.init(first, "BJ01", ADMIN, ADMIN_PW, device_code="A1")
    Store.init(second, "BJ01", ADMIN, ADMIN_PW, device_code="B2")
    assert _keyring(first)["store_id"] != _keyring(second)["store_id"]
    data = _keyring(first)
    data["users"][ADMIN] = _keyring(second)["users"][ADMIN]
    _write_keyring(first, data)
    with pytest.raises(AuthError):
        access.unlock_key(first, ADMIN, ADMIN_PW)
    # and the transplanted copy still opens its own store
    assert access.unlock_key(second, ADMIN, ADMIN_PW)[0]


# ---------------------------------------------------------------------------- nothing in clear


def _forms_of_key(key: bytes) -> list[bytes]:
    return [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key)]


def test_keyring_holds_no_raw_key(store_dir: Path, study) -> None:
    with Store.open(store_dir, NURSE, NURSE_PW, study) as store:
        key = store._data_key()
    text = (store_dir / KEYRING).read_text(encoding="utf-8")
    assert key.hex() not in text and key.hex().upper() not in text
    for form in _forms_of_key(key):
        assert form not in (store_dir / KEYRING).read_bytes()


def test_key_not_in_any_file_of_the_data_dir(store_dir: Path, study) -> None:
    store = Store.open(store_dir, ADMIN, ADMIN_PW, study)
    try:
        key = store._data_key()
        # keys are the same for every user: one data key, wrapped per user
        assert access.unlock_key(store_dir, NURSE, NURSE_PW)[0] == key
        store.add_user("zhao.min", "monitor", "Monitor9988z")
        files_open = {p: p.read_bytes() for p in _files(store_dir)}  # while open (WAL and all)
    finally:
        store.close()
    files_closed = {p: p.read_bytes() for p in _files(store_dir)}
    assert any(p.name == "store.db" for p in files_closed)
    for files in (files_open, files_closed):
        for path, content in files.items():
            for form in _forms_of_key(key):
                assert form not in content, f"{path.name} holds the data key"


def test_store_file_reads_as_noise_without_the_key(store_dir: Path) -> None:
    db = store_dir / "store.db"
    assert not db.read_bytes().startswith(b"SQLite format 3")
    for path in _files(store_dir):
        content = path.read_bytes()
        for secret in (b"Zebrafish rash", b"BJ01-K7-0001"):
            assert secret not in content, f"{path.name} holds {secret!r} in clear"
    connection = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        connection.close()


def test_no_keyring_temp_file_left_behind(store_dir: Path) -> None:
    names = {p.name for p in _files(store_dir)}
    assert {"store.db", KEYRING} <= names
    assert not [n for n in names if n.endswith(".tmp")], "a keyring temp file was left behind"
    assert os.stat(store_dir / KEYRING).st_size > 0
