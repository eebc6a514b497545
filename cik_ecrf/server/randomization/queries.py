"""Read-only questions about randomization, for the server's own commands and for unblinded exports.

`arms_by_subject` names arms: only code that serves an unblinded role (pharmacist, statistician) may
call it; nothing it returns may reach a laptop or a blinded role's file.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Subject
from .models import RandAllocation, RandSlot, RandUnblinding


def arms_by_subject(session: Session) -> dict[str, str]:
    """subject_id -> arm code, for every standing (not voided) randomization. Unblinded exports only."""
    rows = session.execute(
        select(RandAllocation.subject_id, RandSlot.arm)
        .join(RandSlot, RandSlot.randno == RandAllocation.randno)
        .where(RandAllocation.voided_at.is_(None))
    )
    return {subject_id: arm for subject_id, arm in rows}


@dataclass(frozen=True)
class UnblindingRecord:
    """One unblinding, as the data manager lists it: who, when, why, never the arm."""

    at: str
    site: str
    subject: str  # the subject's number
    randno: str
    kind: str  # emergency or codebreak_sheet
    username: str
    role: str
    reason: str
    opened_at: str | None


def unblindings(session: Session) -> list[UnblindingRecord]:
    rows = session.execute(
        select(RandUnblinding, Subject.number)
        .join(Subject, Subject.id == RandUnblinding.subject_id)
        .order_by(RandUnblinding.at)
    )
    return [
        UnblindingRecord(u.at, u.site_code, number, u.randno, u.kind, u.username, u.role, u.reason, u.opened_at)
        for u, number in rows
    ]


@dataclass(frozen=True)
class AllocationRecord:
    """One randomization without its arm (what a blinded data manager may read)."""

    subject: str
    site: str
    randno: str
    prodid: str
    randdtc: str
    stratum: str
    attempt: int
    username: str
    unblinded: bool
    voided_at: str | None


def allocations(session: Session) -> list[AllocationRecord]:
    rows = session.execute(
        select(RandAllocation, Subject.number)
        .join(Subject, Subject.id == RandAllocation.subject_id)
        .order_by(RandAllocation.change_seq)
    )
    return [
        AllocationRecord(
            number,
            a.site_code,
            a.randno,
            a.prodid,
            a.randdtc,
            a.stratum,
            a.attempt,
            a.username,
            a.unblinded,
            a.voided_at,
        )
        for a, number in rows
    ]
