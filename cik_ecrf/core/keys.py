"""Per-user keys: who made a change or a signature, provably (21 CFR 11.70, 11.100, 11.200).

Each user holds two key pairs, made together: Ed25519 to sign (changes, electronic signatures) and
X25519 to receive a laptop's store key sealed to them. Both private keys exist only encrypted under
the user's password (argon2id, then AES-256-GCM: `crypto.wrap`), so a copy of any file that holds
them is worth no more to an attacker than one argon2id hash per user. The public keys are known to
the server and to the site's laptops. Everything here is the `cryptography` library's primitives:
X25519 + HKDF-SHA256 + AES-GCM for sealing (the usual ECIES composition), Ed25519 for signatures.

A laptop's own events also form a *device chain*: each step is SHA-256 over the previous step and
the event's sync fields (what the server receives), so the server can recompute it from what it is
sent, keep its head as the device's anchor, and notice when a pushed history was rewritten.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import json.encoder
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from . import crypto, fast_json

GENESIS = "0" * 64
#: the fields of an event the device chain covers: exactly what a pushed change carries (`events.change`)
CHAINED = (
    "id device_id device_seq user_id username role at_utc utc_offset_min action subject_id visit_id form_id "
    "instance_id field_id old_json new_json reason confirmed_json base_version"
).split()
SEAL_LIMIT = 1000  # events one seal covers at most: a push batch always holds whole seals


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def key_id(sign_public: str) -> str:
    """A short, stable name for a key: the first 16 bytes of the SHA-256 of the Ed25519 public key."""
    return hashlib.sha256(unb64(sign_public)).hexdigest()[:32]


def _associated(username: str, kid: str) -> bytes:
    """Binds an encrypted private key to its user and key: a blob pasted under another name does not open."""
    return f"cik-ecrf/user-key/1:{username}:{kid}".encode()


@dataclass(frozen=True)
class PublicKeys:
    """What everyone may know of a user's keys (base64 raw keys)."""

    key_id: str
    sign: str
    box: str


@dataclass(frozen=True)
class UserKeys:
    """A user's unlocked key pairs: held in memory for one session, never written in clear."""

    username: str
    signing: Ed25519PrivateKey
    boxing: X25519PrivateKey

    @property
    def public(self) -> PublicKeys:
        sign = b64(_raw_public(self.signing.public_key()))
        return PublicKeys(key_id(sign), sign, b64(_raw_public(self.boxing.public_key())))

    def sign(self, message: bytes) -> str:
        return b64(self.signing.sign(message))

    def lock(self, password: str, params: crypto.KdfParams | None = None) -> dict[str, object]:
        """The private keys encrypted under the password (argon2id + AES-GCM)."""
        return crypto.wrap(self._secret(), password, params or crypto.KdfParams.from_env(), self._associated())

    def lock_with_key(self, kdf: dict[str, object], derived: bytes) -> dict[str, object]:
        """As `lock`, with a key the password already derived (a server migrating its users' login keys)."""
        return crypto.wrap_with_key(self._secret(), kdf, derived, self._associated())

    def _secret(self) -> bytes:
        return _raw_private(self.signing) + _raw_private(self.boxing)

    def _associated(self) -> bytes:
        return _associated(self.username, self.public.key_id)


def generate(username: str) -> UserKeys:
    return UserKeys(username, Ed25519PrivateKey.generate(), X25519PrivateKey.generate())


def unlock(blob: Mapping[str, Any], username: str, kid: str, password: str) -> UserKeys | None:
    """The user's keys from their encrypted blob, or None for a wrong password (or an altered blob)."""
    try:
        secret = crypto.unwrap(dict(blob), password, _associated(username, kid))
    except (KeyError, TypeError, ValueError):
        return None
    if secret is None or len(secret) != 64:
        return None
    keys = UserKeys(
        username, Ed25519PrivateKey.from_private_bytes(secret[:32]), X25519PrivateKey.from_private_bytes(secret[32:])
    )
    return keys if keys.public.key_id == kid else None


# ---------------------------------------------------------------- sealing a secret to a user


def _seal_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"cik-ecrf/seal/1" + ephemeral + recipient).derive(shared)


def seal(secret: bytes, box_public: str, associated: bytes) -> dict[str, str]:
    """`secret` readable only with the private key of `box_public` (X25519 + HKDF + AES-GCM)."""
    recipient = unb64(box_public)
    ephemeral = X25519PrivateKey.generate()
    eph_public = _raw_public(ephemeral.public_key())
    key = _seal_key(ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient)), eph_public, recipient)
    nonce = os.urandom(12)
    return {"eph": b64(eph_public), "nonce": b64(nonce), "sealed": b64(AESGCM(key).encrypt(nonce, secret, associated))}


def unseal(sealed: Mapping[str, Any], keys: UserKeys, associated: bytes) -> bytes | None:
    try:
        eph_public = unb64(str(sealed["eph"]))
        recipient = _raw_public(keys.boxing.public_key())
        key = _seal_key(keys.boxing.exchange(X25519PublicKey.from_public_bytes(eph_public)), eph_public, recipient)
        return AESGCM(key).decrypt(unb64(str(sealed["nonce"])), unb64(str(sealed["sealed"])), associated)
    except (InvalidTag, KeyError, TypeError, ValueError):
        return None


# ---------------------------------------------------------------- signatures


@functools.lru_cache(maxsize=4096)
def _public_key(sign_public: str) -> Ed25519PublicKey:
    """A public key parsed once: a push checks thousands of seals by the same few users' keys."""
    return Ed25519PublicKey.from_public_bytes(unb64(sign_public))


def verify(sign_public: str, message: bytes, signature: str) -> bool:
    try:
        _public_key(sign_public).verify(unb64(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _canonical_json(values: list[Any]) -> str:
    """`json.dumps(values, ensure_ascii=False)`: the device chain's canonical form, which laptops of
    every version compute, so it must never change."""
    return json.dumps(values, ensure_ascii=False)


def _list_encoder() -> Callable[[list[Any]], str]:
    """`_canonical_json`, without building an encoder per call (most of the chain step's time)."""
    return fast_json.c_encoder((", ", ": "), sort_keys=False) or _canonical_json


_encode_chained = _list_encoder()


def chain_step(previous: str, event: Mapping[str, Any]) -> str:
    """One step of the device chain: SHA-256 over the previous step and the event's sync fields."""
    body = _encode_chained(list(map(event.get, CHAINED)))  # fixed order: canonical (`_canonical_json`)
    return hashlib.sha256(previous.encode("ascii") + body.encode("utf-8")).hexdigest()


def chain(previous: str, events: Iterable[Mapping[str, Any]]) -> str:
    for event in events:
        previous = chain_step(previous, event)
    return previous


def seal_message(device_id: str, first: int, last: int, previous: str, head: str) -> bytes:
    """What a change seal signs: these events of this device, following `previous` on its chain."""
    return f"cik-ecrf/changes/1\n{device_id}\n{first}\n{last}\n{previous}\n{head}".encode()


def esign_message(
    signature_id: str, scope: str, subject_id: str, meaning: str, content_sha256: str, instances: Iterable[str]
) -> bytes:
    """What an electronic signature's cryptographic signature covers: the content hash and its meaning."""
    return "\n".join(
        ["cik-ecrf/esign/1", signature_id, scope, subject_id, meaning, content_sha256, *sorted(instances)]
    ).encode()
