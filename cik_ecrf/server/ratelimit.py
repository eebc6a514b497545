"""Password guessing limits: failed checks are counted per user name and per source address, and
past a limit the name (or address) is locked out for a while, each lockout in a row twice as long.

An attempt is counted before its password is checked and taken back when it succeeds, so parallel
requests (several workers, many threads) cannot get more guesses than the limit between them. The
counts live in the server database: a lockout holds across processes and restarts, and an
administrator lifts it with `cik-ecrf server user unlock NAME` (or `server address unlock IP`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import defaults
from .database import now
from .models import LoginThrottle

MAX_LOCKOUT = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Limits:
    user_failures: int = defaults.LOGIN_FAILURES
    address_failures: int = defaults.ADDRESS_FAILURES
    lockout: dt.timedelta = dt.timedelta(minutes=defaults.LOCKOUT_MINUTES)
    window: dt.timedelta = dt.timedelta(minutes=15)  # failures older than this are forgotten


@dataclass(frozen=True)
class Refusal:
    key: str
    until: str

    def message(self, username: str) -> str:
        who = f"user {username}" if self.key.startswith("user:") else "this address"
        unlock = (
            f"cik-ecrf server user unlock {username}"
            if self.key.startswith("user:")
            else f"cik-ecrf server address unlock {self.key.split(':', 1)[1]}"
        )
        return (
            f"too many failed sign-ins for {who}: try again after {self.until[:16].replace('T', ' ')} UTC, "
            f"or ask the server's administrator to run `{unlock}`"
        )


def user_key(username: str) -> str:
    return f"user:{username.lower()}"


def address_key(address: str) -> str:
    return f"address:{address}"


def begin(engine: Engine, limits: Limits, username: str, address: str) -> Refusal | None:
    """Count an attempt for `username` from `address`, or refuse it (None: go on and check the password)."""
    for _ in range(5):  # a concurrent first attempt may insert the same row: then count again
        try:
            return _begin(engine, limits, user_key(username), address_key(address))
        except IntegrityError:
            continue
    return Refusal(user_key(username), now())


def _begin(engine: Engine, limits: Limits, *keys: str) -> Refusal | None:
    moment = dt.datetime.now(dt.UTC)
    stamp = moment.isoformat(timespec="microseconds")
    forget = (moment - limits.window).isoformat(timespec="microseconds")
    caps = dict(zip(keys, (limits.user_failures, limits.address_failures), strict=True))
    with Session(engine) as session, session.begin():
        rows = {
            row.key: row
            for row in session.scalars(
                select(LoginThrottle).where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key).with_for_update()
            )
        }
        for row in rows.values():
            if row.locked_until and row.locked_until > stamp:
                return Refusal(row.key, row.locked_until)
        refusal = None
        for key in keys:
            row = rows.get(key)
            if row is None:
                _prune(session, moment, keys)
                row = rows[key] = LoginThrottle(
                    key=key, failures=0, lockouts=0, last_failure_at=stamp, locked_until=None
                )
                session.add(row)
            if row.locked_until or row.last_failure_at < forget:  # a lockout ended, or an old burst
                row.failures, row.locked_until = 0, None
                if row.last_failure_at < (moment - MAX_LOCKOUT).isoformat():
                    row.lockouts = 0
            if row.failures >= caps[key]:
                length = min(limits.lockout * (2**row.lockouts), MAX_LOCKOUT)
                row.locked_until = (moment + length).isoformat(timespec="microseconds")
                row.lockouts += 1
                refusal = refusal or Refusal(key, row.locked_until)
        if refusal is None:
            for row in rows.values():
                row.failures += 1
                row.last_failure_at = stamp
        return refusal


def _prune(session: Session, moment: dt.datetime, keep: tuple[str, ...]) -> None:
    """Forget names and addresses with nothing recent, so guessed names cannot grow the table for good."""
    old = (moment - MAX_LOCKOUT).isoformat(timespec="microseconds")
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.key.not_in(keep),
            LoginThrottle.last_failure_at < old,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < old),
        )
    )


def succeeded(session: Session, username: str, address: str) -> None:
    """The password was right: the name starts afresh; the address gets back only this attempt.

    Both rows are locked in key order, the order `begin` locks them in: locking the name first (as a
    delete does) while a concurrent `begin` held the address made PostgreSQL abort one of the two as
    a deadlock, and the aborted sign-in was answered "busy" with its counted attempt never taken back.
    """
    keys = (user_key(username), address_key(address))
    rows = {
        row.key: row
        for row in session.scalars(
            select(LoginThrottle).where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key).with_for_update()
        )
    }
    if keys[0] in rows:
        session.delete(rows[keys[0]])
    row = rows.get(keys[1])
    if row is not None and row.failures > 0:
        row.failures -= 1


def unlock(session: Session, key: str) -> bool:
    """Lift a lockout and forget the failures; False when there was nothing to lift."""
    return bool(session.execute(delete(LoginThrottle).where(LoginThrottle.key == key)).rowcount)


def lockouts(session: Session) -> list[tuple[str, str]]:
    """(key, locked until) of every lockout in force."""
    rows = session.execute(
        select(LoginThrottle.key, LoginThrottle.locked_until)
        .where(LoginThrottle.locked_until > now())
        .order_by(LoginThrottle.key)
    )
    return [(key, until) for key, until in rows if until]
