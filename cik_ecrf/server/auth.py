"""Device enrolment and per-request authorisation.

A laptop enrols once with a user's name and password and receives a device token: 256 random bits,
stored on the server only as a SHA-256 hash (a slow hash adds nothing to a secret that long), bound
to that user, that device and the user's site, and revocable. Every request names its token; the
device's site scopes everything it can read or write.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.passwords import verify_password
from ..sync.protocol import EnrolRequest, EnrolResponse, LoginKey, UserRecord
from .database import epoch, now
from .models import Device, Site, User

CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Denied(Exception):
    """A refused request: `status` is the HTTP status, the message says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class DeviceContext:
    device_id: str
    site_code: str
    user_id: str
    role: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def authenticate(session: Session, token: str | None) -> DeviceContext:
    if not token:
        raise Denied(401, "no device token: enrol this laptop with `cik-ecrf enrol`")
    device = session.scalar(select(Device).where(Device.token_hash == token_hash(token)))
    if device is None:
        raise Denied(401, "unknown device token: enrol this laptop again")
    if device.revoked:
        raise Denied(401, "this device's token was revoked: enrol this laptop again")
    user = session.get(User, device.user_id)
    if user is None or not user.active:
        raise Denied(401, "the user who enrolled this device is no longer active: enrol it again")
    return DeviceContext(device.id, device.site_code, user.id, user.role)


def user_record(user: User) -> UserRecord:
    login = None
    if user.active and user.login_kdf and user.login_key and user.password_set_at:
        login = LoginKey(kdf=json.loads(user.login_kdf), key=user.login_key, version=user.password_set_at)
    return UserRecord(
        id=user.id, username=user.username, full_name=user.full_name, role=user.role, active=user.active, login=login
    )


def enrol(session: Session, request: EnrolRequest) -> EnrolResponse:
    user = session.scalar(select(User).where(User.username == request.username))
    if user is None or not user.active or not verify_password(user.password_hash, request.password):
        raise Denied(401, "unknown user or wrong password")
    if request.site_code is not None and request.site_code.upper() != user.site_code:
        raise Denied(
            403,
            f"{user.username} works at site {user.site_code}; this laptop's store is for site {request.site_code.upper()}",
        )
    site = session.get(Site, user.site_code)
    assert site is not None
    device = session.get(Device, request.device_id)
    if device is not None and device.site_code != user.site_code:
        raise Denied(403, f"device {request.device_id} is enrolled at another site")
    taken = set(
        session.scalars(select(Device.code).where(Device.site_code == site.code, Device.id != request.device_id))
    )
    code = (request.device_code or "").upper()
    if code and code in taken:
        raise Denied(409, f"device code {code} is already used by another laptop of site {site.code}")
    while not code:
        candidate = "".join(secrets.choice(CODE_CHARS) for _ in range(4))
        code = "" if candidate in taken else candidate
    token = secrets.token_urlsafe(32)
    if device is None:
        session.add(
            Device(
                id=request.device_id,
                site_code=site.code,
                code=code,
                user_id=user.id,
                token_hash=token_hash(token),
                revoked=False,
                created_at=now(),
            )
        )
    else:  # enrolling again replaces the old token
        device.code, device.user_id, device.token_hash, device.revoked = code, user.id, token_hash(token), False
    return EnrolResponse(
        token=token,
        site_code=site.code,
        site_name=site.name,
        device_code=code,
        user=user_record(user),
        epoch=epoch(session),
    )


def new_id() -> str:
    return str(uuid.uuid4())
