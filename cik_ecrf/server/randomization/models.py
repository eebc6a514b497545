"""The randomization tables (server migration s0011), on the server's declarative Base.

`rand_slot` is the list: one row per slot of a stratum, in order, with its arm (the only place an arm
is stored) and its blinded product code. `rand_allocation` holds each randomization; the unique
(subject, attempt) pair makes a second randomization of a subject impossible unless a data manager's
recorded decision (`rand_again`) opened the next attempt. `rand_audit` is the trail of every act on
the list: generation (with the list's SHA-256), verification, exports, randomizations, unblindings,
code-break sheets, corrections.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base


class RandList(Base):
    __tablename__ = "rand_list"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(String(64))
    seed: Mapped[str] = mapped_column(String(64))  # drawn with `secrets`; the blocks derive from it
    sha256: Mapped[str] = mapped_column(String(64))  # of the canonical list (lists.canonical)
    design_json: Mapped[str] = mapped_column(Text)
    slots: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    retired_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class RandSlot(Base):
    __tablename__ = "rand_slot"
    __table_args__ = (Index("ix_rand_slot_free", "list_id", "stratum", "status", "position"),)
    list_id: Mapped[str] = mapped_column(ForeignKey("rand_list.id"), primary_key=True)
    stratum: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1, 2, ... within the stratum
    block: Mapped[int] = mapped_column(Integer)
    block_size: Mapped[int] = mapped_column(Integer)
    arm: Mapped[str] = mapped_column(String(16))
    randno: Mapped[str] = mapped_column(String(40), unique=True)
    prodid: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(8))  # free, used, void (a voided slot is never used again)
    subject_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class RandAllocation(Base):
    __tablename__ = "rand_allocation"
    __table_args__ = (UniqueConstraint("subject_id", "attempt", name="uq_rand_allocation_subject_attempt"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    attempt: Mapped[int] = mapped_column(Integer)  # 1; n + 1 only after a data manager's decision
    site_code: Mapped[str] = mapped_column(String(16))
    list_id: Mapped[str] = mapped_column(String(36))
    stratum: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    randno: Mapped[str] = mapped_column(String(40), unique=True)
    prodid: Mapped[str] = mapped_column(String(40))
    randdtc: Mapped[str] = mapped_column(String(40))
    stratum_values: Mapped[str] = mapped_column(Text)  # the values the stratum was derived from, frozen
    username: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[str] = mapped_column(String(36))
    change_id: Mapped[str] = mapped_column(String(36))
    change_seq: Mapped[int] = mapped_column(BigInteger)
    unblinded: Mapped[bool] = mapped_column(Boolean)
    voided_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    voided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class RandAgain(Base):
    """A data manager's decision that a subject whose randomization was voided may be randomized again."""

    __tablename__ = "rand_again"
    __table_args__ = (UniqueConstraint("subject_id", "attempt", name="uq_rand_again_subject_attempt"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    attempt: Mapped[int] = mapped_column(Integer)  # the attempt it opens
    username: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(40))


class RandUnblinding(Base):
    __tablename__ = "rand_unblinding"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    randno: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # emergency (online) or codebreak_sheet (printed sheet)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    site_code: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[str] = mapped_column(String(40))  # recorded by the server
    opened_at: Mapped[str | None] = mapped_column(String(40), nullable=True)  # a sheet: when it was opened


class RandAudit(Base):
    __tablename__ = "rand_audit"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = mapped_column(String(40))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    action: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    list_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    detail: Mapped[str] = mapped_column(Text)  # JSON; never an arm
    prev_hash: Mapped[str] = mapped_column(String(64))  # the line before's hash: a changed line breaks the chain
    hash: Mapped[str] = mapped_column(String(64))
