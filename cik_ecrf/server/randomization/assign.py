"""Randomizing a subject, unblinding it, recording a code-break sheet and correcting a randomization:
each one transaction that also writes its server-authored event into the change log, which the
site's laptops pull like any other change.

Assignment is atomic: the transaction first locks the one `seq_counter` row (SELECT … FOR UPDATE on
PostgreSQL; SQLite's writers start with BEGIN IMMEDIATE, see server/database.py), so randomizations
and pushes run one after the other, and the next free slot of the stratum is taken in position order.
(subject, attempt) is unique: a subject is never randomized twice, and a retry (a lost reply) finds
the allocation already made and gets the same answer back.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from ...definitions.randomization import Design
from ...definitions.spec import StudyDefinition
from ...events import randomized as randomized_event
from ...events.change import Change
from ..database import now
from ..models import Change as ChangeRow
from ..models import FieldState, Instance, SeqCounter, Subject
from . import lists
from .models import RandAgain, RandAllocation, RandSlot, RandUnblinding
from .strata import NotRandomizable, decide, subject_data


class Refusal(Exception):
    """A refused request: the HTTP status, and one line in English and Chinese."""

    def __init__(self, status: int, en: str, zh: str | None = None) -> None:
        super().__init__(en)
        self.status = status
        self.zh = zh or en


@dataclass(frozen=True)
class Who:
    """The person acting, as the server's User table knows them, and the laptop they act from."""

    username: str
    role: str
    site_code: str
    device_id: str


@dataclass(frozen=True)
class Assigned:
    subject_id: str
    number: str
    randno: str
    prodid: str
    randdtc: str
    change_id: str
    again: bool


def _lock(conn: Connection) -> int:
    """The next change seq, with the row locked until commit (orders every writer)."""
    return int(conn.execute(select(SeqCounter.next_seq).where(SeqCounter.id == 1).with_for_update()).scalar_one())


def _subject(session: Session, subject_id: str, site: str) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise Refusal(
            404,
            "this subject is not on the server yet: sync this laptop, then randomize",
            "服务器上还没有该受试者：请先同步本机，再随机化",
        )
    if subject.site_code != site:
        raise Refusal(403, f"subject {subject.number} belongs to another site", f"受试者 {subject.number} 属于其他中心")
    return subject


def _log(conn: Connection, seq: int, site: str, change: Change) -> None:
    body = change.model_dump_json()
    conn.execute(
        ChangeRow.__table__.insert(),
        {
            "seq": seq,
            "id": change.id,
            "digest": change.digest(body),
            "site_code": site,
            "device_id": change.device_id,
            "device_seq": change.device_seq,
            "action": change.action,
            "instance_id": change.instance_id,
            "field_id": change.field_id,
            "disposition": "applied",
            "reason": None,
            "body": body,
            "received_at": now(),
        },
    )
    conn.execute(update(SeqCounter).where(SeqCounter.id == 1).values(next_seq=seq + 1))


def _event(seq: int, action: str, who: Who, subject_id: str, body: dict[str, Any], form: bool = True) -> Change:
    return Change(
        id=str(uuid.uuid4()),
        device_id=randomized_event.SERVER_DEVICE,
        device_seq=seq,
        username=who.username,
        role=who.role,
        at_utc=now(),
        utc_offset_min=0,
        action=action,
        subject_id=subject_id,
        visit_id=randomized_event.VISIT if form else None,
        form_id=randomized_event.FORM if form else None,
        instance_id=randomized_event.instance_id(subject_id) if form else None,
        new_json=json.dumps(body, sort_keys=True),
    )


def _write_fields(conn: Connection, instance_id: str, values: dict[str, str | None], seq: int) -> None:
    """The server's own state of the randomization form (what exports and the rules read)."""
    existing = set(conn.execute(select(FieldState.field_id).where(FieldState.instance_id == instance_id)).scalars())
    for field_id, value_json in values.items():
        row = {"value_json": value_json, "version": seq, "device_id": "server", "conflict_seq": None}
        if field_id in existing:
            conn.execute(
                update(FieldState)
                .where(FieldState.instance_id == instance_id, FieldState.field_id == field_id)
                .values(**row)
            )
        else:
            conn.execute(FieldState.__table__.insert(), {"instance_id": instance_id, "field_id": field_id, **row})


def _attempt(session: Session, subject_id: str) -> int:
    return 1 + (
        session.scalar(select(func.count()).select_from(RandAgain).where(RandAgain.subject_id == subject_id)) or 0
    )


def randomize(engine: Any, study: StudyDefinition, design: Design, who: Who, subject_id: str) -> Assigned:
    """Allocate the next slot of the subject's stratum, or the allocation it already has (a retry)."""
    with Session(engine) as session, session.begin():
        conn = session.connection()
        seq = _lock(conn)
        subject = _subject(session, subject_id, who.site_code)
        attempt = _attempt(session, subject_id)
        done = session.scalar(
            select(RandAllocation).where(RandAllocation.subject_id == subject_id, RandAllocation.attempt == attempt)
        )
        if done is not None:
            if done.voided_at is not None:
                raise Refusal(
                    409,
                    f"subject {subject.number}'s randomization {done.randno} was marked as made in error; "
                    "randomizing again needs a data manager's decision (cik-ecrf server randomization allow-again)",
                    f"受试者 {subject.number} 的随机化 {done.randno} 已被标记为错误；重新随机化需要数据管理员的决定",
                )
            return Assigned(subject_id, subject.number, done.randno, done.prodid, done.randdtc, done.change_id, True)
        try:
            decision = decide(study, design, subject_data(conn, subject_id))
        except NotRandomizable as exc:
            raise Refusal(409, f"subject {subject.number}: {exc}", f"受试者 {subject.number}：{exc.zh}") from None
        current = lists.active(session)
        if current is None:
            raise Refusal(
                409,
                "no allocation list on the server: an unblinded statistician makes one (cik-ecrf server randomization generate)",
                "服务器上没有随机分配表：请非盲统计师生成（cik-ecrf server randomization generate）",
            )
        slot = session.scalar(
            select(RandSlot)
            .where(RandSlot.list_id == current.id, RandSlot.stratum == decision.stratum, RandSlot.status == "free")
            .order_by(RandSlot.position)
            .limit(1)
            .with_for_update()
        )
        if slot is None:
            raise Refusal(
                409,
                f"the allocation list has no free slot left in stratum {decision.stratum}",
                f"随机分配表中分层 {decision.stratum} 已无可用编号",
            )
        slot.status, slot.subject_id = "used", subject_id
        randdtc = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M+00:00")
        change = _event(
            seq, "randomized", who, subject_id, {"RANDNO": slot.randno, "PRODID": slot.prodid, "RANDDTC": randdtc}
        )
        instance_id = change.instance_id or ""
        if session.get(Instance, instance_id) is None:
            session.add(
                Instance(
                    id=instance_id,
                    subject_id=subject_id,
                    visit_id=randomized_event.VISIT,
                    form_id=randomized_event.FORM,
                    status=randomized_event.CREATED_STATUS,
                    site_code=subject.site_code,
                )
            )
        session.add(
            RandAllocation(
                id=str(uuid.uuid4()),
                subject_id=subject_id,
                attempt=attempt,
                site_code=subject.site_code,
                list_id=current.id,
                stratum=decision.stratum,
                position=slot.position,
                randno=slot.randno,
                prodid=slot.prodid,
                randdtc=randdtc,
                stratum_values=json.dumps(decision.values, sort_keys=True),
                username=who.username,
                device_id=who.device_id,
                change_id=change.id,
                change_seq=seq,
                unblinded=False,
            )
        )
        session.flush()
        _log(conn, seq, subject.site_code, change)
        _write_fields(conn, instance_id, randomized_event.values(randomized_event.payload(change)), seq)
        lists.audit(
            session,
            who.username,
            who.role,
            "randomized",
            subject_id=subject_id,
            list_id=current.id,
            randno=slot.randno,
            stratum=decision.stratum,
            stratum_values=decision.values,
            attempt=attempt,
            device=who.device_id,
        )
        return Assigned(subject_id, subject.number, slot.randno, slot.prodid, randdtc, change.id, False)


def _live_allocation(session: Session, subject: Subject) -> RandAllocation:
    found = session.scalar(
        select(RandAllocation)
        .where(RandAllocation.subject_id == subject.id, RandAllocation.voided_at.is_(None))
        .order_by(RandAllocation.attempt.desc())
        .limit(1)
    )
    if found is None:
        raise Refusal(409, f"subject {subject.number} is not randomized", f"受试者 {subject.number} 尚未随机化")
    return found


def unblind(
    engine: Any, who: Who, subject_id: str, reason: str, kind: str = "emergency", opened_at: str | None = None
) -> tuple[str, str]:
    """Record an unblinding (emergency, or a code-break sheet's use) and tell the site's laptops;
    returns (RANDNO, arm) — the arm for the one investigator's screen, never logged."""
    with Session(engine) as session, session.begin():
        conn = session.connection()
        seq = _lock(conn)
        subject = _subject(session, subject_id, who.site_code)
        allocation = _live_allocation(session, subject)
        arm = session.scalar(select(RandSlot.arm).where(RandSlot.randno == allocation.randno))
        allocation.unblinded = True
        session.add(
            RandUnblinding(
                id=str(uuid.uuid4()),
                subject_id=subject_id,
                randno=allocation.randno,
                kind=kind,
                username=who.username,
                role=who.role,
                site_code=subject.site_code,
                device_id=who.device_id,
                reason=reason,
                at=now(),
                opened_at=opened_at,
            )
        )
        session.flush()
        _log(conn, seq, subject.site_code, _event(seq, "unblinded", who, subject_id, {"kind": kind}, form=False))
        lists.audit(
            session,
            who.username,
            who.role,
            "unblinded" if kind == "emergency" else "codebreak_recorded",
            subject_id=subject_id,
            randno=allocation.randno,
            reason=reason,
            opened_at=opened_at,
            device=who.device_id,
        )
        return allocation.randno, arm or ""


def void(engine: Any, who: Who, randno: str, reason: str, allow_again: bool) -> str:
    """Mark a randomization as made in error (its slot is never used again); with `allow_again`, the
    data manager decides at the same time that the subject may be randomized again. Returns the subject number."""
    with Session(engine) as session, session.begin():
        conn = session.connection()
        seq = _lock(conn)
        allocation = session.scalar(select(RandAllocation).where(RandAllocation.randno == randno))
        if allocation is None:
            raise Refusal(404, f"no randomization {randno}")
        subject = session.get(Subject, allocation.subject_id)
        assert subject is not None
        if allocation.voided_at is not None:
            raise Refusal(409, f"randomization {randno} is already marked as made in error")
        allocation.voided_at, allocation.voided_by, allocation.void_reason = now(), who.username, reason
        conn.execute(update(RandSlot).where(RandSlot.randno == randno).values(status="void"))
        site = Who(who.username, who.role, subject.site_code, who.device_id)
        change = _event(seq, "randomization_voided", site, subject.id, {"RANDNO": randno, "allow_again": allow_again})
        _log(conn, seq, subject.site_code, change)
        _write_fields(conn, change.instance_id or "", dict.fromkeys(randomized_event.FIELDS), seq)
        lists.audit(session, who.username, who.role, "voided", subject_id=subject.id, randno=randno, reason=reason)
        if allow_again:
            _allow(session, who, subject, allocation.attempt + 1, reason)
        return subject.number


def allow_again(engine: Any, who: Who, randno: str, reason: str) -> str:
    """The data manager's explicit decision that the subject of voided randomization `randno` may be randomized again."""
    with Session(engine) as session, session.begin():
        allocation = session.scalar(select(RandAllocation).where(RandAllocation.randno == randno))
        if allocation is None:
            raise Refusal(404, f"no randomization {randno}")
        if allocation.voided_at is None:
            raise Refusal(409, f"randomization {randno} stands: mark it as made in error first (void)")
        subject = session.get(Subject, allocation.subject_id)
        assert subject is not None
        if _attempt(session, subject.id) > allocation.attempt:
            raise Refusal(409, f"subject {subject.number} may already be randomized again")
        _allow(session, who, subject, allocation.attempt + 1, reason)
        return subject.number


def _allow(session: Session, who: Who, subject: Subject, attempt: int, reason: str) -> None:
    session.add(
        RandAgain(
            id=str(uuid.uuid4()), subject_id=subject.id, attempt=attempt, username=who.username, reason=reason, at=now()
        )
    )
    lists.audit(
        session,
        who.username,
        who.role,
        "rerandomization_allowed",
        subject_id=subject.id,
        attempt=attempt,
        reason=reason,
    )
