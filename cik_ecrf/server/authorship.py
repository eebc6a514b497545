"""Provable authorship on the server: users' public keys, the seals that sign pushed changes, and each
device's chain anchor.

A laptop signs each save with its author's Ed25519 key: one *seal* over the save's events (by
device sequence) and the device chain's hash before them (`core.keys`). At a push the server
recomputes the chain from what it received, checks every seal against the public key in ITS user
table (the laptop's word counts for nothing), and refuses every change no valid seal of its author
covers. It keeps the device chain's head after each push (`device_anchor`): a laptop whose history
was rewritten after it was pushed presents another hash for the same point at its next push, and the
device is flagged for the data manager (`cik-ecrf server anchors`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import BigInteger, Connection, Engine, Index, Integer, String, Text, bindparam, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..core import keys
from ..events import registry
from ..sync.protocol import API, Anchor, ErrorBody, PublicKey, Seal, UserKeys, UserRecord
from . import logs, seal_proofs
from .database import ServerError, now
from .models import Base, User


class UserKey(Base):
    """Every key a user has had: the newest unretired one is current; older ones still verify old work."""

    __tablename__ = "user_key"
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    sign_public: Mapped[str] = mapped_column(String(64))
    box_public: Mapped[str] = mapped_column(String(64))
    locked: Mapped[str | None] = mapped_column(Text, nullable=True)  # private keys under the password (JSON)
    created_at: Mapped[str] = mapped_column(String(40))
    retired_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class ChangeSeal(Base):
    """A seal as accepted: the evidence of who made those changes, kept beside the change log."""

    __tablename__ = "change_seal"
    __table_args__ = (Index("ix_change_seal_device_last", "device_id", "last_seq"),)  # the head after a change
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)  # 0, then one per declared restore
    first_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    previous: Mapped[str] = mapped_column(String(64))
    head: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[str] = mapped_column(String(40))


class DeviceAnchor(Base):
    """A device's chain head after the last change the server logged from it, and any discontinuity seen."""

    __tablename__ = "device_anchor"
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_seq: Mapped[int] = mapped_column(BigInteger)
    head: Mapped[str] = mapped_column(String(64))
    flagged_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    flag_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


# ---------------------------------------------------------------- users' keys


def new_keys(session: Session, user: User, password: str) -> keys.PublicKeys:
    """A fresh key pair for the user, locked under `password`; the old one is retired (it still verifies)."""
    made = keys.generate(user.username)
    for old in session.scalars(select(UserKey).where(UserKey.user_id == user.id, UserKey.retired_at.is_(None))):
        old.retired_at, old.locked = now(), None  # the old password opens nothing the server sends
    session.flush()
    public = made.public
    session.add(
        UserKey(
            key_id=public.key_id,
            user_id=user.id,
            sign_public=public.sign,
            box_public=public.box,
            locked=json.dumps(made.lock(password), sort_keys=True),
            created_at=now(),
        )
    )
    return public


def migrate_login_key(user_id: str, username: str, kdf_json: str, login_key: str) -> dict[str, Any]:
    """A key pair for a user the server knows only by the login key their password derives (migration):
    locked under that key, it opens with the same password. Returns the `user_key` row."""
    made = keys.generate(username)
    locked = made.lock_with_key(json.loads(kdf_json), base64.b64decode(login_key))
    public = made.public
    return {
        "key_id": public.key_id,
        "user_id": user_id,
        "sign_public": public.sign,
        "box_public": public.box,
        "locked": json.dumps(locked, sort_keys=True),
        "created_at": now(),
        "retired_at": None,
    }


def current_key(session: Session, user_id: str) -> UserKey | None:
    return session.scalar(
        select(UserKey)
        .where(UserKey.user_id == user_id, UserKey.retired_at.is_(None))
        .order_by(UserKey.created_at.desc())
        .limit(1)
    )


def user_record(session: Session, user: User) -> UserRecord:
    """A user as laptops see them: public keys and the private keys locked under the password (what
    only that password opens); nothing derived from the password alone."""
    key = current_key(session, user.id) if user.active else None
    public = None
    if key is not None and key.locked:
        public = UserKeys(key_id=key.key_id, sign=key.sign_public, box=key.box_public, locked=json.loads(key.locked))
    history = [
        PublicKey(key_id=k.key_id, sign=k.sign_public, box=k.box_public)
        for k in session.scalars(select(UserKey).where(UserKey.user_id == user.id).order_by(UserKey.created_at))
    ]
    return UserRecord(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        active=user.active,
        keys=public,
        key_history=history,
    )


_ETAG = (  # built once, one round trip: asked at every sync. Each user with each of their keys, if any
    select(
        User.id,
        User.username,
        User.full_name,
        User.role,
        User.active,
        UserKey.key_id,
        UserKey.sign_public,
        UserKey.box_public,
        UserKey.locked,
        UserKey.created_at,
        UserKey.retired_at,
    )
    .outerjoin(UserKey, UserKey.user_id == User.id)
    .where(User.site_code == bindparam("site"))
    .order_by(User.id, UserKey.key_id)
)


def users_etag(session: Session | Connection, site_code: str) -> str:
    """A digest of everything `GET /users` sends this site's laptops (their rows and every key), and of
    the server's version: a laptop that holds what it names skips the fetch. Read before the records
    it describes, so a change in between makes the laptop fetch again, never miss it."""
    from .. import __version__

    rows = session.execute(_ETAG, {"site": site_code}).all()
    text = json.dumps([__version__, [list(r) for r in rows]], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ---------------------------------------------------------------- one push


@dataclass
class _Verdict:
    seal: Seal | None
    problem: str | None


class BatchSeals:
    """The seals of one push: which change each covers and whether it holds. Each seal's context (its
    signer on this site, active, with that key) and its device chain are checked here at once; its
    Ed25519 signature meanwhile by `seal_proofs`, and `settle()` waits for it before anything is written.
    `refusal(change)` is asked for each change at its place; `finish(rows)` keeps the accepted seals and
    moves the device's anchor."""

    def __init__(
        self,
        conn: Any,
        site: str,
        device_id: str,
        raws: Sequence[Any],
        seals: Sequence[Any],
        signed: list[bool] | None = None,
    ) -> None:
        """`signed`: whether each seal's signature holds, known already (the batch applied again after
        one did not); else checked meanwhile (`seal_proofs`)."""
        self.conn = conn
        self.site = site
        self.device_id = device_id
        self.warnings: list[str] = []
        self.users: dict[str, tuple[str, bool]] = {}  # name -> (id, active), this site's
        self.keys: dict[str, tuple[str, str]] = {}  # key id -> (user id, Ed25519 public)
        for uid, name, active, kid, sign in conn.execute(
            select(User.id, User.username, User.active, UserKey.key_id, UserKey.sign_public)
            .join(UserKey, UserKey.user_id == User.id, isouter=True)
            .where(User.site_code == site)
        ):
            self.users[name] = (uid, bool(active))
            if kid is not None:
                self.keys[kid] = (uid, sign)
        anchor = conn.execute(
            select(DeviceAnchor.device_seq, DeviceAnchor.head).where(DeviceAnchor.device_id == device_id)
        ).first()
        self.anchor_seq = anchor[0] if anchor else 0
        self.anchor_head = anchor[1] if anchor else None
        self.anchored = anchor is not None
        from .devices import DeviceRestore  # a restored laptop's declared run (devices.py imports this module)

        run = conn.execute(
            select(DeviceRestore.from_seq, DeviceRestore.to_seq, DeviceRestore.run).where(
                DeviceRestore.device_id == device_id
            )
        ).first()
        self.run: tuple[int, int, int] | None = (int(run[0]), int(run[1]), int(run[2])) if run else None
        self.content: dict[int, Mapping[str, Any]] = {}  # device_seq -> the change as sent (what the chain covers)
        for raw in raws:
            item = raw.model_dump() if hasattr(raw, "model_dump") else raw
            if isinstance(item, dict) and item.get("device_id") == device_id and type(item.get("device_seq")) is int:
                self.content.setdefault(item["device_seq"], item)
        # in order: each seal, what is wrong with it so far, its signature's job, the chain after each change
        self.seals: list[tuple[Seal, str | None, int | None, tuple[str, ...]]] = []
        jobs: list[seal_proofs.ProofJob] = []
        for raw in seals:
            seal = self._read(raw)
            if seal is None:
                continue  # covers nothing: its changes are refused as unsigned
            problem, heads, job = self._context_problem(seal), (), None
            if problem is None:
                heads = self._chain(seal)
                if heads[-1] != seal.head:
                    problem = f"the signature of {seal.username} does not match these changes"
                else:
                    message = keys.seal_message(self.device_id, seal.first, seal.last, seal.previous, seal.head)
                    job = len(jobs)
                    jobs.append(seal_proofs.ProofJob(self.keys[seal.key_id][1], message, seal.signature))
            self.seals.append((seal, problem, job, heads))
        self._signed = (lambda: signed) if signed is not None else seal_proofs.checker.submit(jobs)
        self.settled = signed is not None
        self._judge(signed)

    def _chain(self, seal: Seal) -> tuple[str, ...]:
        """The device chain after each change the seal covers, recomputed from what was sent."""
        head, heads = seal.previous, []
        for seq in range(seal.first, seal.last + 1):
            head = keys.chain_step(head, self.content[seq])
            heads.append(head)
        return tuple(heads)

    @staticmethod
    def _read(raw: Any) -> Seal | None:
        try:
            seal = raw if isinstance(raw, Seal) else Seal.model_validate(raw)
        except ValueError:
            return None
        if seal.last < seal.first or seal.last - seal.first >= keys.SEAL_LIMIT:
            return None
        return seal

    def _context_problem(self, seal: Seal) -> str | None:
        """What is wrong with a seal before its proof is looked at: what it covers, its signer, their key."""
        if any(seq not in self.content for seq in range(seal.first, seal.last + 1)):
            return "its signature covers changes not sent with it"
        user = self.users.get(seal.username)
        if user is None:
            return f"signed by {seal.username}, who is not a user of site {self.site} on the server"
        if not user[1]:
            return f"signed by {seal.username}, who is deactivated on the server"
        key = self.keys.get(seal.key_id)
        if key is None or key[0] != user[0]:
            return f"signed with a key the server does not know as {seal.username}'s"
        return None

    def _judge(self, signed: list[bool] | None) -> None:
        """Each change's verdict, in seal order (the first seal that holds covers a change). Without the
        signatures' answers yet, a seal whose chain holds is taken as signed, until `settle()`."""
        self.by_seq: dict[int, _Verdict] = {}
        self.heads: dict[int, str] = {}  # device_seq -> the chain after it, per the seals that hold
        self.accepted: list[Seal] = []
        self.rewritten: str | None = None
        for seal, problem, job, heads in self.seals:
            if problem is None and job is not None and signed is not None:
                if not signed[job]:
                    problem = f"the signature of {seal.username} does not match these changes"
                else:
                    for seq, head in zip(range(seal.first, seal.last + 1), heads, strict=True):
                        self.heads.setdefault(seq, head)
                    self._continuity(seal)
            for seq in range(seal.first, seal.last + 1):
                if seq not in self.by_seq or self.by_seq[seq].problem is not None:
                    self.by_seq[seq] = _Verdict(seal, problem)
            if problem is None:
                self.accepted.append(seal)

    def settle(self) -> list[bool] | None:
        """Wait for the signatures' answers and judge with them. Returns them when a seal taken as signed
        was not: the batch was applied on a wrong verdict and must be applied again with them (`signed=`)."""
        if self.settled:
            return None
        signed = self._signed()
        self.settled = True
        self._judge(signed)
        return None if all(signed) else signed

    def _run_of(self, seal: Seal) -> int:
        """The run a seal belongs to: a restored laptop's declared run, or 0 (its one history)."""
        if self.run is not None and self.run[0] <= seal.first <= self.run[1]:
            return self.run[2]
        return 0

    def _continuity(self, seal: Seal) -> None:
        """The seal must continue the chain the server anchored; if not, this laptop rewrote history.

        A restored run branches from the chain as it stood before the run's first change (what the
        backup held), not from the anchor; and the changes after the run continue the run's chain."""
        run = self.run
        if run is not None and self._run_of(seal):
            if seal.first == run[0]:
                self._compare(seal.previous, self._head_before(seal.first), seal.first - 1)
            return
        if not self.anchored or self.anchor_head is None:
            return  # first signed push of this device: its chain is anchored from here
        anchor_head = self.heads.get(self.run[1], self.anchor_head) if self.run else self.anchor_head
        at_anchor = (
            seal.previous
            if seal.first - 1 == self.anchor_seq
            else self.heads.get(self.anchor_seq)
            if seal.first <= self.anchor_seq <= seal.last
            else None
        )
        self._compare(at_anchor, anchor_head, self.anchor_seq)

    def _head_before(self, first: int) -> str | None:
        """The device chain's head after change `first - 1`, as the seals the server kept say (None: unknown)."""
        if first <= 1:
            return keys.GENESIS
        return self.conn.execute(
            select(ChangeSeal.head)
            .where(ChangeSeal.device_id == self.device_id, ChangeSeal.last_seq == first - 1)
            .order_by(ChangeSeal.run.desc())
            .limit(1)
        ).scalar()

    def _compare(self, presented: str | None, known: str | None, seq: int) -> None:
        if presented is not None and known is not None and presented != known and self.rewritten is None:
            self.rewritten = (
                f"this laptop's history up to change {seq} differs from what it pushed before: "
                "it was rewritten after it was pushed (reported to the data manager)"
            )

    def refusal(self, change: Any) -> str | None:
        """Why a change at its place is not proven to be its author's, or None."""
        verdict = self.by_seq.get(change.device_seq)
        if verdict is None or verdict.seal is None:
            return f"not signed by its author ({change.username}): each change needs its author's signature"
        if verdict.problem is not None:
            return verdict.problem
        event = registry.event(change.action)
        needs_author = event is None or event.roles is not None or event.data
        if needs_author and verdict.seal.username != change.username:
            return f"made in the name of {change.username} but signed by {verdict.seal.username}"
        if change.action == "signature":
            return self._esign_problem(change)
        return None

    def _esign_problem(self, change: Any) -> str | None:
        try:
            body = json.loads(change.new_json or "{}")
        except ValueError:
            return None  # the event type refuses it on its own
        kid, signature = body.get("key_id"), body.get("sig")
        user = self.users.get(change.username)
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if not isinstance(signature, str) or key is None or user is None or key[0] != user[0]:
            return f"signature: no cryptographic signature of {change.username} over the signed content"
        message = keys.esign_message(
            str(body.get("signature")),
            str(body.get("scope")),
            str(change.subject_id),
            str(body.get("meaning")),
            str(body.get("content_sha256")),
            [str(i) for i in body.get("instances") or []],
        )
        if not keys.verify(key[1], message, signature):
            return f"signature: the cryptographic signature does not verify with {change.username}'s key"
        return None

    def finish(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Keep the accepted seals and move the anchor to the last change logged from this device."""
        logged = {r["device_seq"] for r in rows if r.get("device_id") == self.device_id}
        received = now()
        kept = [
            {
                "device_id": self.device_id,
                "run": self._run_of(seal),
                "first_seq": seal.first,
                "last_seq": seal.last,
                "username": seal.username,
                "key_id": seal.key_id,
                "previous": seal.previous,
                "head": seal.head,
                "signature": seal.signature,
                "received_at": received,
            }
            for seal in self.accepted
            if seal.first in logged or seal.last in logged or any(s in logged for s in range(seal.first, seal.last))
        ]
        if kept:  # a seal sent again (its reply was lost) replaces the copy kept before, in its own run
            table = ChangeSeal.__table__
            for run in {k["run"] for k in kept}:
                self.conn.execute(
                    table.delete().where(
                        table.c.device_id == self.device_id,
                        table.c.run == run,
                        table.c.first_seq.in_([k["first_seq"] for k in kept if k["run"] == run]),
                    )
                )
            self.conn.execute(table.insert(), kept)
        if self.rewritten:
            self.warnings.append(self.rewritten)
            logs.event("history_rewritten", device=self.device_id, site=self.site, at_seq=self.anchor_seq)
        top = max((s for s in logged if s in self.heads), default=0)
        head = self.heads.get(top)
        if head is None or top <= self.anchor_seq:
            if self.rewritten:
                self._flag(self.anchor_seq, self.anchor_head or keys.GENESIS)
            elif self.run is not None and self.run[0] <= top <= self.run[1] and head is not None:
                self._flag(self.anchor_seq, head)  # re-anchored: the restored run's chain is the one that goes on
            return
        self._flag(top, head)

    def _flag(self, seq: int, head: str) -> None:
        table = DeviceAnchor.__table__
        values: dict[str, Any] = {"device_seq": seq, "head": head}
        if self.rewritten:
            values |= {"flagged_at": now(), "flag_reason": self.rewritten}
        if self.anchored:
            self.conn.execute(table.update().where(table.c.device_id == self.device_id).values(**values))
        else:
            self.conn.execute(table.insert().values(device_id=self.device_id, **values))


# ---------------------------------------------------------------- the anchor, for `audit verify` and the data manager

router = APIRouter()


@router.get(f"{API}/anchor", response_model=Anchor, responses={401: {"model": ErrorBody}})
def anchor(request: Request) -> Anchor:
    """This device's chain head as the server anchored it (`audit verify` compares its own)."""
    device = request.state.device
    with Session(request.app.state.reader) as session:
        row = session.get(DeviceAnchor, device.device_id)
        if row is None:
            return Anchor(device_seq=0, head=None)
        return Anchor(device_seq=row.device_seq, head=row.head, flagged=row.flag_reason)


def anchors(engine: Engine) -> list[tuple[str, int, str, str | None]]:
    """Every device's anchor: (device id, last change, head, the flag's reason or None)."""
    with Session(engine) as session:
        return [
            (a.device_id, a.device_seq, a.head, a.flag_reason)
            for a in session.scalars(select(DeviceAnchor).order_by(DeviceAnchor.device_id))
        ]


def clear_flag(engine: Engine, device_id: str) -> None:
    with Session(engine) as session, session.begin():
        row = session.get(DeviceAnchor, device_id)
        if row is None or row.flagged_at is None:
            raise ServerError(f"device {device_id} is not flagged")
        row.flagged_at = row.flag_reason = None
    logs.event("anchor_flag_cleared", device=device_id)
