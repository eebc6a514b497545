"""The data key and its per-user wrapping: the one secret that opens a store.

A random 256-bit key encrypts the SQLCipher file. It is never written in clear: each user holds a copy
wrapped (AES-256-GCM) under a key derived from their password with argon2id, so a password change
re-wraps only that user's copy and a wrong password fails the GCM tag instead of yielding a key.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32


@dataclass(frozen=True)
class KdfParams:
    """argon2id cost; stored with each wrapped key so it can be raised later without breaking old copies."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 1

    @classmethod
    def from_env(cls) -> KdfParams:
        """CIK_ECRF_KDF_MEMORY_KIB lowers the cost for test suites and benchmarks (never below 8 MiB)."""
        memory = os.environ.get("CIK_ECRF_KDF_MEMORY_KIB")
        if memory:
            return cls(time_cost=1, memory_kib=max(8 * 1024, int(memory)), parallelism=1)
        return cls()


def new_data_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _derive(password: str, salt: bytes, params: KdfParams) -> bytes:
    return hash_secret_raw(
        password.encode("utf-8"), salt, params.time_cost, params.memory_kib, params.parallelism, KEY_BYTES, Type.ID
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def login_key(password: str, params: KdfParams) -> tuple[dict[str, object], bytes]:
    """A fresh salt and the key the password derives with it: what `unwrap` will derive again at login.

    The central server computes this when it sets a password, so that a laptop that never saw the
    password can still add a keyring entry the user opens offline (`wrap_with_key`).
    """
    salt = os.urandom(16)
    kdf = {
        "alg": "argon2id",
        "t": params.time_cost,
        "m": params.memory_kib,
        "p": params.parallelism,
        "salt": _b64(salt),
    }
    return kdf, _derive(password, salt, params)


def wrap_with_key(data_key: bytes, kdf: dict[str, object], key: bytes, associated: bytes) -> dict[str, object]:
    nonce = os.urandom(12)
    return {"kdf": dict(kdf), "nonce": _b64(nonce), "wrapped": _b64(AESGCM(key).encrypt(nonce, data_key, associated))}


def wrap(data_key: bytes, password: str, params: KdfParams, associated: bytes) -> dict[str, object]:
    kdf, key = login_key(password, params)
    return wrap_with_key(data_key, kdf, key, associated)


def unwrap(entry: dict[str, object], password: str, associated: bytes) -> bytes | None:
    """The data key, or None when the password is wrong (or the entry was altered)."""
    kdf = entry["kdf"]
    assert isinstance(kdf, dict)
    params = KdfParams(int(kdf["t"]), int(kdf["m"]), int(kdf["p"]))
    key = _derive(password, base64.b64decode(str(kdf["salt"])), params)
    try:
        return AESGCM(key).decrypt(
            base64.b64decode(str(entry["nonce"])), base64.b64decode(str(entry["wrapped"])), associated
        )
    except InvalidTag:
        return None
