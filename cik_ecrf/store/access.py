"""Logging in to a store: unwrap the data key with a password, count failures, lock out.

Lockout state and failed logins live in the keyring, because a failed login has no key to open the
store with; the failed logins are copied into the audit trail by the next successful login. The limits
are study settings (`security` in study.json), never the environment.

Anyone who can write the folder can edit keyring.json, so each successful login mirrors the lockout
state inside the encrypted database, and the next one checks that the keyring's state follows from
that mirror and the failed logins recorded since (numbered, so none can be taken away unnoticed):
counters cleared or locks lifted by hand are audited as `lockout_state_edited`. A whole earlier copy
of keyring.json put back cannot be told from the real one on a plain file system; the argon2id cost
of each guess is the defence there, as it is against a copy of the files.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlcipher3

from ..core import crypto, keys
from . import faults, integrity
from .audit import now_with_offset
from .errors import AuthError, StoreError
from .files import DB_FILE
from .keyring import Keyring

if TYPE_CHECKING:
    from ..definitions.spec import StudyDefinition


def _associated(store_id: str, username: str) -> bytes:
    """Binds a wrapped key to its store and user: a copy pasted onto another user does not open."""
    return f"cik-ecrf:{store_id}:{username}".encode()


@dataclass(frozen=True)
class Policy:
    max_failures: int
    lockout_minutes: int

    @classmethod
    def of(cls, study: StudyDefinition) -> Policy:
        """The study's limits (study.json `security`): the same on every laptop, whatever its environment."""
        security = study.study.security
        return cls(security.max_failed_logins, security.lockout_minutes)


def _entry(
    store_id: str, username: str, unlocked: keys.UserKeys, locked: dict[str, Any], data_key: bytes, central: bool
) -> dict[str, Any]:
    """A keyring entry: the private keys under the password, and the store key sealed to the user.

    Only the user's password opens either: argon2id opens `locked`, whose X25519 key opens `sealed`."""
    public = unlocked.public
    return {
        "key_id": public.key_id,
        "locked": locked,
        "sealed": keys.seal(data_key, public.box, _associated(store_id, username)),
        "central": central,
    }


def create_keyring(
    directory: Path,
    store_id: str,
    username: str,
    password: str,
    data_key: bytes,
    central: dict[str, Any] | None = None,
) -> keys.UserKeys:
    """The keyring of a new store with its first user: their keys from the server (`central`, a
    UserKeys record, opened with the password the server just checked) or new ones made here."""
    if central is not None:
        unlocked = keys.unlock(central["locked"], username, central["key_id"], password)
        if unlocked is None:
            raise AuthError(f"{username}: the keys the server sent do not open with this password")
        locked = central["locked"]
    else:
        unlocked = keys.generate(username)
        locked = unlocked.lock(password)
    with Keyring(directory).locked() as data:
        data.update({"store_id": store_id, "users": {}, "failures": {}, "pending_events": [], "attempts": 0})
        data["users"][username] = _entry(store_id, username, unlocked, locked, data_key, central is not None)
    return unlocked


def add_key(directory: Path, username: str, password: str, data_key: bytes) -> keys.UserKeys:
    """A user made on this laptop: new keys, locked under their first password."""
    unlocked = keys.generate(username)
    with Keyring(directory).locked() as data:
        data["users"][username] = _entry(data["store_id"], username, unlocked, unlocked.lock(password), data_key, False)
    return unlocked


def change_key_password(directory: Path, username: str, current: str, new: str, data_key: bytes) -> keys.UserKeys:
    """The same keys, locked under the new password (a local user's own change)."""
    unlocked = prove(directory, username, current)
    if unlocked is None:
        raise AuthError("the current password is wrong")
    with Keyring(directory).locked() as data:
        data["users"][username] = _entry(data["store_id"], username, unlocked, unlocked.lock(new), data_key, False)
    return unlocked


def prove(directory: Path, username: str, password: str) -> keys.UserKeys | None:
    """The user's keys if `password` opens them here (signing proves the password this way), else None."""
    entry = Keyring(directory).read().get("users", {}).get(username)
    if not isinstance(entry, dict) or "locked" not in entry:
        return None
    return keys.unlock(entry["locked"], username, str(entry.get("key_id")), password)


def set_central_keys(directory: Path, username: str, record: dict[str, Any], data_key: bytes) -> bool:
    """A central user's keys as the server sent them, the store key sealed to them: they sign in here
    offline with their current password. Replaced when the server's key changes (a password set
    centrally), which leaves nothing the old password opens. True if written."""
    with Keyring(directory).locked() as data:
        current = data["users"].get(username)
        if current is not None and current.get("key_id") == record["key_id"] and current.get("central"):
            return False
        public = keys.PublicKeys(record["key_id"], record["sign"], record["box"])
        if keys.key_id(public.sign) != public.key_id:
            return False  # not a key at all: ignored, the user keeps what they had
        data["users"][username] = {
            "key_id": public.key_id,
            "locked": record["locked"],
            "sealed": keys.seal(data_key, public.box, _associated(data["store_id"], username)),
            "central": True,
        }
        return True


def _event(data: dict[str, Any], username: str, kind: str, why: str, **extra: Any) -> dict[str, Any]:
    """A failed login (or a login while locked), numbered in the keyring's own count of them."""
    at, offset = now_with_offset()
    data["attempts"] = int(data.get("attempts", 0)) + 1
    event = {
        "id": str(uuid.uuid4()),
        "n": data["attempts"],
        "kind": kind,
        "username": username,
        "at": at,
        "offset": offset,
        "why": why,
        **extra,
    }
    data.setdefault("pending_events", []).append(event)
    return event


def _record_failure(data: dict[str, Any], username: str, why: str, policy: Policy, now: dt.datetime) -> str:
    failures = data.setdefault("failures", {}).setdefault(username, {"count": 0, "locked_until": None})
    failures["count"] += 1
    message = "unknown user or wrong password"
    extra: dict[str, Any] = {}
    if failures["count"] >= policy.max_failures:
        until = now + dt.timedelta(minutes=policy.lockout_minutes)
        failures["locked_until"] = extra["locked_until"] = until.isoformat()
        failures["count"] = 0
        why += f"; account locked for {policy.lockout_minutes} minutes"
        message = f"too many failed logins: {username} is locked for {policy.lockout_minutes} minutes"
    _event(data, username, "failure", why, **extra)
    return message


def _replay(start: dict[str, Any], events: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    """The per-user lockout state that `start` and these failed logins lead to, by the rules above."""
    state = copy.deepcopy(start)
    for event in events:
        if event.get("kind") != "failure":
            continue  # a login while locked changes nothing
        user = state.setdefault(event["username"], {"count": 0, "locked_until": None})
        if user.get("locked_until") and dt.datetime.fromisoformat(user["locked_until"]) <= dt.datetime.fromisoformat(
            event["at"]
        ):
            user["locked_until"] = None
        user["count"] += 1
        if event.get("locked_until"):
            user["locked_until"], user["count"] = event["locked_until"], 0
    return _normal(state, now)


def _normal(state: Any, now: dt.datetime) -> dict[str, Any]:
    """Users with failures or a lock still running at `now` (a lock that ran out may or may not be cleared yet)."""
    if not isinstance(state, dict):
        return {"?": state}
    kept = {}
    for user, entry in state.items():
        if not isinstance(entry, dict):
            kept[user] = entry
            continue
        until = entry.get("locked_until")
        try:
            running = bool(until) and dt.datetime.fromisoformat(until) > now
        except (TypeError, ValueError):
            running = True  # not a time: an edit, and compared as it is
        if entry.get("count") or running:
            kept[user] = {**entry, "locked_until": until if running else None}
    return kept


def _lockout_edits(data: dict[str, Any], mirror: dict[str, Any] | None, now: dt.datetime) -> str | None:
    """How keyring.json's lockout state departs from what the store saw plus the failures since, if it does."""
    if mirror is None:
        return None  # a store older than the mirror, or its first login: the mirror starts now
    base = int(mirror.get("attempts", 0))
    attempts = data.get("attempts", 0)
    if not isinstance(attempts, int) or attempts < base:
        return f"keyring.json: the count of failed logins went back from {base} to {attempts}"
    events = [e for e in data.get("pending_events", []) if isinstance(e.get("n"), int) and e["n"] > base]
    numbers = sorted(e["n"] for e in events)
    expected = list(range(base + 1, attempts + 1))
    if numbers != expected:
        missing = sorted(set(expected) - set(numbers))
        return f"keyring.json: {len(missing) or 'some'} failed-login record(s) were removed or renumbered"
    events.sort(key=lambda e: e["n"])
    found = _normal(data.get("failures", {}), now)
    starts = [mirror.get("failures", {}), mirror.get("failures_before")]
    if any(start is not None and _replay(start, events, now) == found for start in starts):
        return None
    expected_state = _replay(starts[0], events, now)
    users = sorted(u for u in set(found) | set(expected_state) if found.get(u) != expected_state.get(u))
    return f"keyring.json: failure counts or lock times were changed by hand (users: {', '.join(users)[:200]})"


def _login_checks(
    directory: Path, key: bytes, data: dict[str, Any], username: str, media_read_only: bool, now: dt.datetime
) -> list[integrity.Finding]:
    """Damage, rollback and lockout edits; then the user's failures are cleared and mirrored."""
    found: list[integrity.Finding] = []
    before = copy.deepcopy(data.get("failures", {}))
    try:
        with integrity.connect(directory, key, writable=not media_read_only) as conn:
            full_scan = integrity.scan_due(conn, directory, now)
            damaged = integrity.damage(conn, directory, full_scan)
            rolled = None if damaged else integrity.rollback(conn, directory)
            found += [f for f in (damaged, rolled) if f]
            mirror = None if damaged else integrity.read_mirror(conn)
            edited = None if (damaged or rolled) else _lockout_edits(data, mirror, now)
            if edited:
                found.append(integrity.Finding("lockout_state_edited", edited))
            if media_read_only:
                return found  # nothing can be written: the keyring stays as it is
            data.setdefault("failures", {}).pop(username, None)
            if damaged:
                return found
            state = {"attempts": data.get("attempts", 0), "failures": data["failures"], "failures_before": before}
            if state != mirror:
                integrity.write_mirror(conn, state)  # before the keyring: see `failures_before`
            if full_scan and (directory / DB_FILE).stat().st_size > integrity.SCAN_EVERY_LOGIN_BYTES:
                integrity.record_scan(conn, now)
            if rolled:
                integrity.record_head(conn, directory)
    except sqlcipher3.Error as exc:
        faults.mark_damaged(directory / DB_FILE, str(exc))
        found.append(integrity.Finding("store_damaged", f"store.db is damaged: {exc}"))
        data.setdefault("failures", {}).pop(username, None)
    return found


def unlock_key(
    directory: Path, username: str, password: str, policy: Policy | None = None, now: dt.datetime | None = None
) -> Unlocked:
    """The data key for a correct password, the events waiting to be audited (failed logins, findings)
    and the user's keys."""
    if policy is None:
        from ..definitions.loader import load_study

        policy = Policy.of(load_study())
    now = now or dt.datetime.now(dt.UTC)
    keyring = Keyring(directory)
    if not keyring.exists():
        raise AuthError(f"{directory}: no store here; create one with `cik-ecrf init`")
    media_read_only = faults.is_read_only(directory)
    refusal: AuthError | None = None
    findings: list[integrity.Finding] = []
    try:
        with keyring.locked() as data:  # written back even when the login fails: that is the point
            state = data.setdefault("failures", {}).get(username)
            if state and state.get("locked_until"):
                until = dt.datetime.fromisoformat(state["locked_until"])
                if until > now:
                    _event(data, username, "locked", "login while locked")
                    refusal = AuthError(
                        f"{username} is locked after repeated failed logins until {until.astimezone().strftime('%H:%M')}"
                    )
                elif not media_read_only:  # nothing is written there; the time check above still holds
                    state["locked_until"] = None
            if refusal is None:
                entry = data.get("users", {}).get(username)
                key, signer = _open_entry(data, entry, username, password) if entry else (None, None)
                if key is None:
                    why = "unknown user" if entry is None else "wrong password"
                    refusal = AuthError(_record_failure(data, username, why, policy, now))
                else:
                    findings = _login_checks(directory, key, data, username, media_read_only, now)
                    writable = not (media_read_only or faults.damage_noted(directory))
                    for finding in findings if writable else ():  # a store refusing writes cannot audit them
                        at, offset = now_with_offset()
                        data.setdefault("pending_events", []).append(
                            {
                                "id": str(uuid.uuid4()),
                                "kind": "finding",
                                "action": finding.action,
                                "username": username,
                                "at": at,
                                "offset": offset,
                                "why": finding.reason,
                            }
                        )
                    pending = list(data.get("pending_events", []))  # removed only once they are in the trail
    except StoreError:
        if refusal is None:
            raise
        # a full disk or read-only medium: this failure cannot be counted, the login is refused all the same
    if refusal is not None:
        raise refusal
    integrity.report(directory, findings)
    return Unlocked(key, pending if writable else [], signer)  # read-only: the failed logins wait in the keyring


@dataclass(frozen=True)
class Unlocked:
    """What a correct password opens: the store key, the events waiting to be audited, and the user's
    keys (None for a central user from before per-user keys, until the server sends theirs)."""

    key: bytes
    pending: list[dict[str, Any]]
    signer: keys.UserKeys | None

    def __iter__(self) -> Iterator[Any]:  # `key, pending = unlock_key(...)`, as before
        return iter((self.key, self.pending))

    def __getitem__(self, index: int) -> Any:
        return (self.key, self.pending)[index]


def _open_entry(
    data: dict[str, Any], entry: dict[str, Any], username: str, password: str
) -> tuple[bytes | None, keys.UserKeys | None]:
    """One argon2id: the private keys, then the store key sealed to them. A legacy entry (the store key
    wrapped under the password) of a local user is replaced by keys made now, the password being here."""
    associated = _associated(data["store_id"], username)
    if "locked" in entry:
        unlocked = keys.unlock(entry["locked"], username, str(entry.get("key_id")), password)
        key = keys.unseal(entry.get("sealed") or {}, unlocked, associated) if unlocked else None
        return key, unlocked if key else None
    key = crypto.unwrap(entry, password, associated)
    if key is None or entry.get("central"):
        return key, None
    unlocked = keys.generate(username)
    data["users"][username] = _entry(data["store_id"], username, unlocked, unlocked.lock(password), key, False)
    return key, unlocked


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
    """Central users can sign in on this laptop offline: this store's key is sealed to their public key;
    the entries of users deactivated centrally are dropped."""
    for user in users:
        record = user.get("keys")
        if not user["active"]:
            remove_key(directory, user["username"])
        elif record:
            set_central_keys(directory, user["username"], record, data_key)


def is_central(directory: Path, username: str) -> bool:
    """Whether the user's key here came from the central server (their password is set there)."""
    return bool(Keyring(directory).read().get("users", {}).get(username, {}).get("central"))


def remove_key(directory: Path, username: str) -> None:
    with Keyring(directory).locked() as data:
        data.get("users", {}).pop(username, None)
