"""Device enrolment and per-request authorisation.

A laptop enrols once with a user's name and password and receives a device token: 256 random bits,
stored on the server only as a SHA-256 hash (a slow hash adds nothing to a secret that long), bound
to that user, that device and the user's site, and revocable. Every request names its token; the
device's site scopes everything it can read or write.

Enrolment checks a password, so it is throttled (ratelimit.py) and takes the same time whether the
user exists or not: an unknown name is checked against a dummy argon2 hash of the same cost. At most
VERIFY_SLOTS checks run at once per process: each holds argon2's 64 MiB, and they need no token.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, select
from sqlalchemy.orm import Session

from ..core.passwords import hash_password, verify_password
from ..sync.protocol import EnrolRequest, EnrolResponse, UserRecord
from . import authorship, devices, logs, ratelimit
from .database import epoch, now
from .models import Device, Site, User

CODE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
VERIFY_SLOTS = threading.BoundedSemaphore(2)


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


_BY_TOKEN = (  # built once: building a statement costs more than running it on an index
    select(Device.id, Device.site_code, Device.revoked, User.id, User.active, User.role)
    .outerjoin(User, User.id == Device.user_id)
    .where(Device.token_hash == bindparam("token_hash"))
)


def authenticate(conn: Session | Connection, token: str | None) -> DeviceContext:
    """Every request's first step: one indexed read, columns only (no ORM objects for what is asked each time)."""
    if not token:
        raise Denied(401, "no device token: enrol this laptop with `cik-ecrf enrol`")
    row = conn.execute(_BY_TOKEN, {"token_hash": token_hash(token)}).first()
    if row is None:
        raise Denied(401, "unknown device token: enrol this laptop again")
    device_id, site_code, revoked, user_id, active, role = row
    if revoked:
        raise Denied(
            401,
            "this device's token was revoked: it enrols again once an administrator allows it (`cik-ecrf server device allow`)",
        )
    if user_id is None or not active:
        raise Denied(401, "the user who enrolled this device is no longer active: enrol it again")
    return DeviceContext(device_id, site_code, user_id, role)


def user_record(session: Session, user: User) -> UserRecord:
    """Public keys and the private keys locked under the user's password: nothing password-equivalent."""
    return authorship.user_record(session, user)


@functools.cache
def dummy_hash() -> str:
    """What an unknown user's password is checked against: a hash with the real ones' cost."""
    return hash_password(secrets.token_urlsafe(24))


def check_password(
    engine: Engine, reader: Engine, limits: ratelimit.Limits, username: str, password: str, address: str
) -> str:
    """The user's id if `password` is theirs; Denied (401, or 429 while locked out) otherwise."""
    refusal = ratelimit.begin(engine, limits, username, address)
    if refusal is not None:
        logs.event("login_locked", user=username, address=address, locked=refusal.key, until=refusal.until)
        raise Denied(429, refusal.message(username))
    with Session(reader) as session:
        user = session.scalar(select(User).where(User.username == username))
        stored = user.password_hash if user is not None else ""
        found = user is not None and user.active
        user_id = user.id if user is not None else ""
    with VERIFY_SLOTS:  # an unknown or inactive user costs the same argon2 check as a known one
        right = verify_password(stored if found else dummy_hash(), password)
    if not (found and right):
        logs.event("auth_failed", user=username, address=address, reason="unknown user or wrong password")
        raise Denied(401, "unknown user or wrong password")
    return user_id


def enrol(
    engine: Engine,
    reader: Engine,
    limits: ratelimit.Limits,
    request: EnrolRequest,
    address: str,
    device_token: str | None = None,
) -> EnrolResponse:
    """`device_token`: the token the laptop holds for this device id, its proof that the id is its own
    (a known id enrols again only with it, or with an administrator's leave: devices.py)."""
    user_id = check_password(engine, reader, limits, request.username, request.password, address)
    with Session(engine) as session, session.begin():
        ratelimit.succeeded(session, request.username, address)
    try:
        with Session(engine) as session, session.begin():
            answer = _enrol_device(session, user_id, request, token_hash(device_token) if device_token else None)
    except Denied as exc:
        logs.event("enrol_refused", user=request.username, device=request.device_id, address=address, detail=str(exc))
        raise
    logs.event("enrolled", user=request.username, device=request.device_id, site=answer.site_code, address=address)
    return answer


def _enrol_device(session: Session, user_id: str, request: EnrolRequest, proof: str | None = None) -> EnrolResponse:
    user = session.get(User, user_id)
    if user is None or not user.active:  # deactivated since the password check
        raise Denied(401, "unknown user or wrong password")
    if request.site_code is not None and request.site_code.upper() != user.site_code:
        raise Denied(
            403,
            f"{user.username} works at site {user.site_code}; this laptop's store is for site {request.site_code.upper()}",
        )
    site = session.get(Site, user.site_code)
    assert site is not None
    if authorship.current_key(session, user.id) is None:  # a user from before per-user keys: the password is here now
        authorship.new_keys(session, user, request.password)
    device = session.get(Device, request.device_id)
    if device is not None and device.site_code != user.site_code:
        raise Denied(403, f"device {request.device_id} is enrolled at another site")
    if device is not None:  # bound to the laptop that enrolled it first; a revoked one waits for an administrator
        try:
            how = devices.check_binding(session, device, user.username, proof)
        except devices.Refusal as exc:
            raise Denied(exc.status, str(exc)) from None
        logs.event("device_enrolled_again", device=device.id, user=user.username, proof=how)
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
        user=user_record(session, user),
        epoch=epoch(session),
    )


def new_id() -> str:
    return str(uuid.uuid4())
