"""Devices bound to their first enrolment, revocation that sticks, and what the server knows of a device.

Every pulled change names its laptop's device id, so any user of a site knows every device id of the
site. An id is therefore no secret, and enrolling with one must prove more than a password:

- A new id is bound to the laptop that enrols with it first.
- Enrolling again with an id the server knows needs that laptop's current device token (the laptop
  keeps it in its encrypted store and sends it with the enrolment). A password alone takes no one
  else's device.
- A revoked device stays revoked: it enrols again only after an administrator on the server allowed it
  (`cik-ecrf server device allow DEVICE --reason TEXT [--user NAME]`). Each permit is recorded with its
  reason and time, serves one enrolment, and the enrolment that used it is recorded too. Without
  `--user` only the laptop that still holds the device's last (revoked) token can use it: a leave is
  no chance for another user of the site who read the id.

`/api/v1/device` tells a laptop what the server holds of it: the highest device sequence it accepted
(and that change's id), and the subject numbers its counter made. A laptop restored from an older copy of its store learns there
that it has been restored (sync/restore.py).
"""

from __future__ import annotations

import getpass
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    String,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..sync.device_protocol import PULL_NEWS, STUDY_VERSION, USERS_ETAG, DeviceState, RestoredRequest, RestoredRun
from . import logs, pull_pages
from .database import ServerError, now, quick_reads
from .models import Base, Device, Subject, User
from .models import Change as ChangeRow
from .study_versions.store import LATEST

MAX_REASON = 500


class DevicePermit(Base):
    """An administrator's leave for one revoked device to enrol once more (optionally only by one user)."""

    __tablename__ = "device_permit"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36), index=True)
    reason: Mapped[str] = mapped_column(Text)
    for_user: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: any user of the device's site
    allowed_by: Mapped[str] = mapped_column(String(64))  # the operating-system account that ran the command
    allowed_at: Mapped[str] = mapped_column(String(40))
    used_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    used_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DeviceRestore(Base):
    """A restored laptop's declared run: device numbers `from_seq`..`to_seq` it used a second time, for
    changes written after its store was put back from an older copy. The server takes them once, in order
    (`next_seq`), after which the device's sequence goes on after the highest it ever accepted."""

    __tablename__ = "device_restore"
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    from_seq: Mapped[int] = mapped_column(BigInteger)
    to_seq: Mapped[int] = mapped_column(BigInteger)
    next_seq: Mapped[int] = mapped_column(BigInteger)
    server_seq: Mapped[int] = mapped_column(BigInteger)  # the highest the server had accepted when declared
    declared_by: Mapped[str] = mapped_column(String(36))  # the user who enrolled the device
    declared_at: Mapped[str] = mapped_column(String(40))
    run: Mapped[int] = mapped_column(Integer, default=1)  # the seals of this run are kept as this run (change_seal)


class Refusal(Exception):
    """Enrolment refused for a device reason: `status` is the HTTP status (auth.py turns it into Denied)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def check_binding(session: Session, device: Device, username: str, proof_hash: str | None) -> str:
    """May `username` enrol again with this known device id? Returns how ("token" or "permit"), or raises
    Refusal. `proof_hash` is the SHA-256 of the device token the laptop sent with the enrolment."""
    if device.revoked:
        permit = session.scalar(
            select(DevicePermit)
            .where(DevicePermit.device_id == device.id, DevicePermit.used_at.is_(None))
            .order_by(DevicePermit.allowed_at.desc())
            .limit(1)
        )
        if permit is None:
            raise Refusal(
                403,
                f"device {device.id} was revoked: it enrols again only after an administrator allows it on the "
                f"server (`cik-ecrf server device allow {device.id} --reason TEXT`)",
            )
        if permit.for_user is not None and permit.for_user != username:
            raise Refusal(403, f"device {device.id} was allowed to enrol again for {permit.for_user} only")
        if permit.for_user is None and proof_hash != device.token_hash:  # else anyone who read the id could take it
            raise Refusal(
                403,
                f"device {device.id} may enrol again from the laptop that holds its last token, or by the user "
                "an administrator named (`--user`)",
            )
        permit.used_at, permit.used_by = now(), username
        return "permit"
    if proof_hash is None or proof_hash != device.token_hash:
        raise Refusal(
            409,
            f"device {device.id} is enrolled to another laptop: enrolling again with this id needs that laptop's "
            "current device token (a new laptop enrols with a new id)",
        )
    return "token"


def allow_device(engine: Engine, device_id: str, reason: str, username: str | None = None) -> str:
    """An administrator lets a revoked device enrol once more; recorded (who, when, why) and logged."""
    reason = (reason or "").strip()
    if not reason:
        raise ServerError("--reason: say why this device may enrol again")
    if len(reason) > MAX_REASON:
        raise ServerError(f"--reason: at most {MAX_REASON} characters")
    with Session(engine) as session, session.begin():
        device = session.get(Device, device_id)
        if device is None:
            raise ServerError(f"no device {device_id}")
        if not device.revoked:
            raise ServerError(f"device {device_id} is not revoked: it needs no leave to enrol (revoke it first)")
        if username is not None:
            user = session.scalar(select(User).where(User.username == username))
            if user is None or user.site_code != device.site_code:
                raise ServerError(f"--user {username}: no user of site {device.site_code} by that name")
        permit = DevicePermit(
            id=str(uuid.uuid4()),
            device_id=device_id,
            reason=reason,
            for_user=username,
            allowed_by=_operator(),
            allowed_at=now(),
        )
        session.add(permit)
        site, code, permit_id = device.site_code, device.code, permit.id
    logs.event("device_allowed", device=device_id, site=site, device_code=code, reason=reason, user=username)
    return permit_id


def permits(engine: Engine, device_id: str) -> list[dict[str, Any]]:
    """Every leave given to a device, oldest first: who allowed it, why, and who used it."""
    with Session(engine) as session:
        rows = session.scalars(
            select(DevicePermit).where(DevicePermit.device_id == device_id).order_by(DevicePermit.allowed_at)
        )
        return [
            {
                "reason": p.reason,
                "for_user": p.for_user,
                "allowed_by": p.allowed_by,
                "allowed_at": p.allowed_at,
                "used_at": p.used_at,
                "used_by": p.used_by,
            }
            for p in rows
        ]


def _operator() -> str:
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):  # no name for this account (a container)
        return "unknown"


# built once (asked at every sync; building a statement costs more than running it on an index). What
# `GET /device` says of a device, each fact a lookup on a key, all in one round trip: its code, its last
# device_seq and that change's id, the subject numbers its counter made (paper screening numbers reach it
# with the pull; numbers hold no comma, subject_add.py), and the newest study version
_LAST = ChangeRow.device_id == bindparam("device")
_THIS = Device.id == bindparam("device")
_FACTS = (
    select(Device.code).where(_THIS).scalar_subquery(),
    select(ChangeRow.device_seq).where(_LAST).order_by(ChangeRow.device_seq.desc()).limit(1).scalar_subquery(),
    select(ChangeRow.id)
    .where(_LAST)
    .order_by(ChangeRow.device_seq.desc(), ChangeRow.seq.desc())
    .limit(1)
    .scalar_subquery(),
    select(func.aggregate_strings(Subject.number, ","))
    .where(
        _THIS,
        Subject.site_code == bindparam("site"),
        Subject.number.startswith(Subject.site_code.concat("-").concat(Device.code).concat("-")),
    )
    .scalar_subquery(),
    LATEST.scalar_subquery(),
)
_STATE = select(*_FACTS)
_STATE_AND_NEWS = select(*_FACTS, *pull_pages.NEWS)  # and whether the site has changes after the laptop's cursor


@dataclass(frozen=True)
class Cursor:
    """A laptop's pull cursor, as it sends it to `GET /pull`."""

    seq: int
    epoch: str | None
    change_id: str | None


@dataclass(frozen=True)
class Facts:
    state: DeviceState
    study_version: int
    quiet: bool | None  # nothing to pull after the laptop's cursor (None: no cursor given)


def device_facts(conn: Session | Connection, device_id: str, site_code: str, cursor: Cursor | None = None) -> Facts:
    """What the server holds of a device, and (given the laptop's pull cursor) whether it has anything to pull."""
    values = {"device": device_id, "site": site_code, "cursor": cursor.seq if cursor is not None else 0}
    row = conn.execute(_STATE if cursor is None else _STATE_AND_NEWS, values).one()
    code, last, last_id, numbers, version = row[:5]
    state = DeviceState(
        device_id=device_id,
        last_device_seq=int(last or 0),
        last_change_id=last_id,
        subject_numbers=sorted(numbers.split(",")) if code is not None and numbers else [],
    )
    quiet = None if cursor is None else pull_pages.nothing_after(cursor.seq, cursor.epoch, cursor.change_id, row[5:])
    return Facts(state, int(version or 0), quiet)


def declare_restore(session: Session, device_id: str, user_id: str, window: list[tuple[int, str]]) -> RestoredRun:
    """Take a restored laptop's own changes since its pushed mark: the first one the server does not hold
    at that device number starts the run; every later one must be new here too."""
    last = int(session.scalar(select(func.max(ChangeRow.device_seq)).where(ChangeRow.device_id == device_id)) or 0)
    window = sorted((seq, cid) for seq, cid in window if seq <= last)
    held: dict[int, set[str]] = {}
    seqs = sorted({seq for seq, _ in window})
    for start in range(0, len(seqs), 500):
        part = seqs[start : start + 500]
        for seq, cid in session.execute(
            select(ChangeRow.device_seq, ChangeRow.id).where(
                ChangeRow.device_id == device_id, ChangeRow.device_seq.in_(part)
            )
        ):
            held.setdefault(int(seq), set()).add(cid)
    first = next((i for i, (seq, cid) in enumerate(window) if cid not in held.get(seq, set())), None)
    if first is None:
        return RestoredRun(last_device_seq=last)
    run = window[first:]
    if any(cid in held.get(seq, set()) for seq, cid in run) or [s for s, _ in run] != list(
        range(run[0][0], run[0][0] + len(run))
    ):
        raise Refusal(409, "the declared changes are not one run of new changes after a restore")
    from .authorship import ChangeSeal  # the run's seals are kept as a run of their own, beside the first ones

    run_no = 1 + int(session.scalar(select(func.max(ChangeSeal.run)).where(ChangeSeal.device_id == device_id)) or 0)
    session.execute(delete(DeviceRestore).where(DeviceRestore.device_id == device_id))
    session.execute(
        insert(DeviceRestore).values(
            device_id=device_id,
            from_seq=run[0][0],
            to_seq=run[-1][0],
            next_seq=run[0][0],
            server_seq=last,
            declared_by=user_id,
            declared_at=now(),
            run=run_no,
        )
    )
    logs.event("device_restored", device=device_id, from_seq=run[0][0], to_seq=run[-1][0], server_seq=last)
    return RestoredRun(from_seq=run[0][0], to_seq=run[-1][0], last_device_seq=last)


class RestoredSequence:
    """The push's view of a declared run (apply.py): which device number the server takes next."""

    def __init__(self, conn: Connection, device_id: str) -> None:
        self.device_id = device_id
        row = conn.execute(
            select(DeviceRestore.next_seq, DeviceRestore.to_seq).where(
                DeviceRestore.device_id == device_id, DeviceRestore.next_seq <= DeviceRestore.to_seq
            )
        ).first()
        self.next, self.to = (int(row[0]), int(row[1])) if row is not None else (None, None)
        self.moved = False

    def expected(self, device_seq: int) -> int:
        """The run first, while it lasts; then one after the highest accepted."""
        return self.next if self.next is not None and self.to is not None and self.next <= self.to else device_seq + 1

    def take(self, seq: int, device_seq: int) -> int:
        """The device's highest accepted number after taking `seq`."""
        if self.next is not None and self.to is not None and seq == self.next <= self.to:
            self.next += 1
            self.moved = True
            return device_seq
        return seq

    def save(self, conn: Connection) -> None:
        if self.moved:
            conn.execute(
                update(DeviceRestore).where(DeviceRestore.device_id == self.device_id).values(next_seq=self.next)
            )


def router(engine: Engine, reader: Engine) -> APIRouter:
    """`GET /api/v1/device` and `POST /api/v1/device/restored`: behind the token gate (app.py), which has
    authenticated the device."""
    from ..sync.protocol import API, ErrorBody
    from .authorship import users_etag  # authorship reads this module's restored runs

    routes = APIRouter()
    refusals: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 409)}

    @routes.post(f"{API}/device/restored", response_model=RestoredRun, responses=refusals)
    def restored(body: RestoredRequest, request: Request) -> RestoredRun:
        ctx = request.state.device
        with Session(engine) as session, session.begin():
            try:
                return declare_restore(session, ctx.device_id, ctx.user_id, body.window)
            except Refusal as exc:
                from .auth import Denied

                raise Denied(exc.status, str(exc)) from None

    @routes.get(f"{API}/device", response_model=DeviceState, responses={401: {"model": ErrorBody}})
    def device(
        request: Request,
        cursor: Annotated[int | None, Query(ge=0, le=2**62)] = None,
        since_epoch: Annotated[str | None, Query(alias="epoch", max_length=36)] = None,
        cursor_id: Annotated[str | None, Query(max_length=36)] = None,
    ) -> Response:
        """`cursor` (with `epoch`, `cursor_id`): the laptop's pull cursor, as it would send it to `GET /pull`."""
        ctx = request.state.device
        at = Cursor(cursor, since_epoch, cursor_id) if cursor is not None else None
        with quick_reads(reader) as conn:  # columns only, no ORM session, two round trips: asked at every sync
            facts = device_facts(conn, ctx.device_id, ctx.site_code, at)
            hints = {  # what the laptop may skip fetching in this sync (device_protocol.py)
                USERS_ETAG: users_etag(conn, ctx.site_code),
                STUDY_VERSION: str(facts.study_version),
            }
        if facts.quiet is not None:
            hints[PULL_NEWS] = "none" if facts.quiet else "some"
        return Response(facts.state.model_dump_json(), media_type="application/json", headers=hints)

    return routes
