"""Central administration: sites, users (they reach every laptop of their site), device tokens and
lockouts. Security-relevant acts (revocations, unlocks, passwords set, deactivations) are logged as
structured lines (logs.py), like the server's own events."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ..core.errors import UserError as StoreError
from ..core.passwords import check_password, check_role, check_username, hash_password
from . import authorship, logs, ratelimit
from .database import ServerError, now
from .models import Device, Site, User


def add_site(engine: Engine, code: str, name: str) -> str:
    code = code.upper()
    if not code or not code.replace("-", "").isalnum() or len(code) > 16:
        raise ServerError(f"site code {code!r}: 1–16 letters or digits")
    with Session(engine) as session, session.begin():
        if session.get(Site, code) is not None:
            raise ServerError(f"site {code} already exists")
        session.add(Site(code=code, name=name, created_at=now()))
    return code


def add_user(engine: Engine, username: str, role: str, site: str, password: str, full_name: str | None = None) -> str:
    try:
        check_username(username)
        check_role(role)
        check_password(password, username)
    except StoreError as exc:
        raise ServerError(str(exc)) from None
    with Session(engine) as session, session.begin():
        if session.get(Site, site.upper()) is None:
            raise ServerError(f"no site {site.upper()}: add it first with `cik-ecrf server site add`")
        if session.scalar(select(User.id).where(User.username == username)):
            raise ServerError(f"user {username} already exists")
        user_id = str(uuid.uuid4())
        user = User(
            id=user_id,
            username=username,
            full_name=full_name or username,
            role=role,
            site_code=site.upper(),
            password_hash="",
            active=True,
            created_at=now(),
        )
        session.add(user)
        session.flush()
        _set_password(session, user, password)
    return user_id


def _set_password(session: Session, user: User, password: str) -> None:
    """The hash for online checks, and a new key pair locked under the password: laptops of the site
    take it at their next sync, seal their store key to it (offline sign-in) and drop the old one."""
    user.password_hash = hash_password(password)
    user.login_kdf = user.login_key = None  # password-equivalent: no longer kept or sent
    user.password_set_at = now()
    authorship.new_keys(session, user, password)


def set_password(engine: Engine, username: str, password: str) -> None:
    """An administrator sets a user's password; each laptop of the site takes it at its next sync."""
    try:
        check_password(password, username)
    except StoreError as exc:
        raise ServerError(str(exc)) from None
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise ServerError(f"no user {username}")
        _set_password(session, user, password)
    logs.event("password_set", user=username)


def set_active(engine: Engine, username: str, active: bool) -> None:
    """A deactivated user can no longer sign in anywhere: laptops drop their key at the next sync."""
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise ServerError(f"no user {username}")
        user.active = active
    logs.event("activated" if active else "deactivated", user=username)


def unlock_user(engine: Engine, username: str) -> bool:
    """Lift the lockout on a user name after failed passwords; False when it was not locked."""
    with Session(engine) as session, session.begin():
        lifted = ratelimit.unlock(session, ratelimit.user_key(username))
        if not lifted and session.scalar(select(User.id).where(User.username == username)) is None:
            raise ServerError(f"no user {username}, and no failed sign-ins under that name")
    logs.event("unlocked", user=username, lifted=lifted)
    return lifted


def unlock_address(engine: Engine, address: str) -> bool:
    """Lift the lockout on a source address; False when it was not locked."""
    with Session(engine) as session, session.begin():
        lifted = ratelimit.unlock(session, ratelimit.address_key(address))
    logs.event("unlocked", address=address, lifted=lifted)
    return lifted


def lockouts(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return ratelimit.lockouts(session)


def revoke_device(engine: Engine, device_id: str) -> None:
    with Session(engine) as session, session.begin():
        device = session.get(Device, device_id)
        if device is None:
            raise ServerError(f"no device {device_id}")
        device.revoked = True
        user = session.get(User, device.user_id)
        what = {"device_code": device.code, "site": device.site_code, "user": user.username if user else device.user_id}
    logs.event("revoked", device=device_id, **what)


def devices(engine: Engine) -> list[tuple[str, str, str, bool]]:
    with Session(engine) as session:
        return [
            (d.id, d.site_code, d.code, d.revoked)
            for d in session.scalars(select(Device).order_by(Device.site_code, Device.code))
        ]
