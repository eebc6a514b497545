"""Logging in to a store: unwrap the data key with a password, count failures, lock out.

Lockout state and failed logins live in the keyring, because a failed login has no key to open the
store with; the failed logins are copied into the audit trail by the next successful login.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import crypto
from .audit import now_with_offset
from .errors import AuthError
from .keyring import Keyring
from .users import LOCKOUT_MINUTES, MAX_FAILURES


def _associated(store_id: str, username: str) -> bytes:
    """Binds a wrapped key to its store and user: a copy pasted onto another user does not open."""
    return f"cik-ecrf:{store_id}:{username}".encode()


@dataclass(frozen=True)
class Policy:
    max_failures: int = MAX_FAILURES
    lockout_minutes: int = LOCKOUT_MINUTES

    @classmethod
    def from_env(cls) -> Policy:
        return cls(
            int(os.environ.get("CIK_ECRF_MAX_FAILURES", MAX_FAILURES)),
            int(os.environ.get("CIK_ECRF_LOCKOUT_MINUTES", LOCKOUT_MINUTES)),
        )


def create_keyring(directory: Path, store_id: str, username: str, password: str, data_key: bytes) -> None:
    keyring = Keyring(directory)
    with keyring.locked() as data:
        data.update({"store_id": store_id, "users": {}, "failures": {}, "pending_events": []})
        data["users"][username] = crypto.wrap(
            data_key, password, crypto.KdfParams.from_env(), _associated(store_id, username)
        )


def add_key(directory: Path, username: str, password: str, data_key: bytes) -> None:
    with Keyring(directory).locked() as data:
        data["users"][username] = crypto.wrap(
            data_key, password, crypto.KdfParams.from_env(), _associated(data["store_id"], username)
        )


def set_central_key(
    directory: Path, username: str, kdf: dict[str, object], key: bytes, version: str, data_key: bytes
) -> bool:
    """A keyring entry from the server's login key for a user this laptop never saw type a password.

    Replaced only when the server's version changes (a password set centrally); True if written.
    """
    with Keyring(directory).locked() as data:
        current = data["users"].get(username)
        if current is not None and current.get("central") == version:
            return False
        entry = crypto.wrap_with_key(data_key, kdf, key, _associated(data["store_id"], username))
        data["users"][username] = {**entry, "central": version}
        return True


def _record_failure(data: dict[str, Any], username: str, why: str, policy: Policy) -> str:
    at, offset = now_with_offset()
    failures = data.setdefault("failures", {}).setdefault(username, {"count": 0, "locked_until": None})
    failures["count"] += 1
    message = "unknown user or wrong password"
    if failures["count"] >= policy.max_failures:
        until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=policy.lockout_minutes)
        failures["locked_until"] = until.isoformat()
        failures["count"] = 0
        why += f"; account locked for {policy.lockout_minutes} minutes"
        message = f"too many failed logins: {username} is locked for {policy.lockout_minutes} minutes"
    data.setdefault("pending_events", []).append(
        {"id": str(uuid.uuid4()), "username": username, "at": at, "offset": offset, "why": why}
    )
    return message


def unlock_key(
    directory: Path, username: str, password: str, policy: Policy | None = None
) -> tuple[bytes, list[dict[str, Any]]]:
    """The data key for a correct password, and the failed logins waiting to be audited."""
    policy = policy or Policy.from_env()
    keyring = Keyring(directory)
    if not keyring.exists():
        raise AuthError(f"{directory}: no store here; create one with `cik-ecrf init`")
    refusal: AuthError | None = None
    with keyring.locked() as data:  # written back even when the login fails: that is the point
        state = data.setdefault("failures", {}).get(username)
        if state and state.get("locked_until"):
            until = dt.datetime.fromisoformat(state["locked_until"])
            if until > dt.datetime.now(dt.UTC):
                at, offset = now_with_offset()
                data.setdefault("pending_events", []).append(
                    {
                        "id": str(uuid.uuid4()),
                        "username": username,
                        "at": at,
                        "offset": offset,
                        "why": "login while locked",
                    }
                )
                refusal = AuthError(
                    f"{username} is locked after repeated failed logins until {until.astimezone().strftime('%H:%M')}"
                )
            else:
                state["locked_until"] = None
        if refusal is None:
            entry = data.get("users", {}).get(username)
            key = crypto.unwrap(entry, password, _associated(data["store_id"], username)) if entry else None
            if key is None:
                refusal = AuthError(
                    _record_failure(data, username, "unknown user" if entry is None else "wrong password", policy)
                )
            else:
                data["failures"].pop(username, None)
                pending = list(data.get("pending_events", []))  # removed only once they are in the trail
    if refusal is not None:
        raise refusal
    return key, pending


def forget_pending(directory: Path, pending: list[dict[str, Any]]) -> None:
    """Drop failed logins from the keyring once the audit trail holds them (after that commit).

    If the process dies in between they stay here, and the next login skips the ones whose id the
    trail already has: copied once, never lost.
    """
    done = {event.get("id") for event in pending}
    if done:
        with Keyring(directory).locked() as data:
            data["pending_events"] = [e for e in data.get("pending_events", []) if e.get("id") not in done]


def apply_central_users(directory: Path, users: list[dict[str, Any]], data_key: bytes) -> None:
    """Central users can sign in on this laptop offline: their login keys wrap this store's key; the
    keys of users deactivated centrally are dropped."""
    for user in users:
        login = user.get("login")
        if not user["active"]:
            remove_key(directory, user["username"])
        elif login:
            set_central_key(
                directory, user["username"], login["kdf"], base64.b64decode(login["key"]), login["version"], data_key
            )


def is_central(directory: Path, username: str) -> bool:
    """Whether the user's key here came from the central server (their password is set there)."""
    return bool(Keyring(directory).read().get("users", {}).get(username, {}).get("central"))


def remove_key(directory: Path, username: str) -> None:
    with Keyring(directory).locked() as data:
        data.get("users", {}).pop(username, None)
