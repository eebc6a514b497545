"""The laptop's record of randomization: what the central server allocated to each subject, as the
`randomized`, `unblinded` and `randomization_voided` events brought it. Never an arm: the laptop only
holds what a blinded user may see (randomization number, blinded product code, time, and whether
the subject was unblinded or the randomization voided).

`store.randomization.allocation(subject)` is how the client asks "is this subject randomized?".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Connection, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..events.change import Change
from .models import Base

if TYPE_CHECKING:
    from .api import Store


class AllocationRow(Base):
    """One row per randomized subject (laptop migration 0004); the newest allocation wins."""

    __tablename__ = "randomization"
    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    randno: Mapped[str] = mapped_column(String(40))
    prodid: Mapped[str] = mapped_column(String(40))
    randdtc: Mapped[str] = mapped_column(String(40))
    unblinded: Mapped[bool] = mapped_column(Boolean)
    voided: Mapped[bool] = mapped_column(Boolean)
    change_id: Mapped[str] = mapped_column(String(36))  # the event that set it
    updated_at: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)  # how many events touched it


@dataclass(frozen=True)
class Allocation:
    """A subject's allocation as a blinded user may see it. `voided`: marked as made in error (the
    subject then counts as not randomized until randomized again)."""

    subject_id: str
    randno: str
    prodid: str
    randdtc: str
    unblinded: bool
    voided: bool


# ---------------------------------------------------------------- applied by pulled events (store/pull.py)


def set_allocation(conn: Connection, change: Change, randno: str, prodid: str, randdtc: str) -> None:
    """A new allocation replaces a voided one (a decided re-randomization); the unblinded mark goes
    with the old one. The same event applied twice changes nothing."""
    conn.exec_driver_sql(
        "INSERT INTO randomization (subject_id, randno, prodid, randdtc, unblinded, voided, change_id, updated_at, version) "
        "VALUES (?, ?, ?, ?, 0, 0, ?, ?, 1) ON CONFLICT (subject_id) DO UPDATE SET randno = excluded.randno, "
        "prodid = excluded.prodid, randdtc = excluded.randdtc, "
        "unblinded = CASE WHEN randomization.randno = excluded.randno THEN randomization.unblinded ELSE 0 END, "
        "voided = CASE WHEN randomization.randno = excluded.randno THEN randomization.voided ELSE 0 END, "
        "change_id = excluded.change_id, updated_at = excluded.updated_at, version = randomization.version + 1",
        (change.subject_id, randno, prodid, randdtc, change.id, change.at_utc),
    )


def mark_unblinded(conn: Connection, change: Change) -> None:
    conn.exec_driver_sql(
        "UPDATE randomization SET unblinded = 1, change_id = ?, updated_at = ?, version = version + 1 WHERE subject_id = ?",
        (change.id, change.at_utc, change.subject_id),
    )


def mark_voided(conn: Connection, change: Change, randno: str) -> None:
    conn.exec_driver_sql(
        "UPDATE randomization SET voided = 1, change_id = ?, updated_at = ?, version = version + 1 "
        "WHERE subject_id = ? AND randno = ?",
        (change.id, change.at_utc, change.subject_id, randno),
    )


def _row(conn: Connection, subject_id: str) -> Allocation | None:
    row = conn.exec_driver_sql(
        "SELECT subject_id, randno, prodid, randdtc, unblinded, voided FROM randomization WHERE subject_id = ?",
        (subject_id,),
    ).first()
    if row is None:
        return None
    return Allocation(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]))


def record_answer(conn: Connection, subject_id: str, randno: str, prodid: str, randdtc: str, change_id: str) -> None:
    """The server's answer to this laptop's randomization, kept at once (the `randomized` event that
    follows in the next pull sets the same values and the form's fields)."""
    if _row(conn, subject_id) is None or _row(conn, subject_id).randno != randno:  # type: ignore[union-attr]
        fake = Change.model_construct(id=change_id, subject_id=subject_id, at_utc=randdtc)
        set_allocation(conn, fake, randno, prodid, randdtc)


# ---------------------------------------------------------------- the store's accessor


class RandomizationQueries:
    """`store.randomization`: read-only questions about allocations (any logged-in user)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _subject_id(self, conn: Connection, subject: str) -> str | None:
        row = conn.exec_driver_sql("SELECT id FROM subject WHERE id = ? OR number = ?", (subject, subject)).first()
        return None if row is None else str(row[0])

    def subject_id(self, subject: str) -> str | None:
        """The subject's id from its id or number; None when this laptop has no such subject."""
        self._store.require()
        with self._store.unit_of_work() as session:
            return self._subject_id(session.connection(), subject)

    def allocation(self, subject: str) -> Allocation | None:
        """The subject's allocation (by subject id or number); None when the subject was never
        randomized (or is unknown). A voided one is returned with `voided=True`."""
        self._store.require()
        with self._store.unit_of_work() as session:
            conn = session.connection()
            subject_id = self._subject_id(conn, subject)
            return None if subject_id is None else _row(conn, subject_id)

    def allocations(self) -> dict[str, Allocation]:
        """Every allocation on this laptop, by subject id (one query, for lists and overviews)."""
        self._store.require()
        with self._store.unit_of_work() as session:
            rows = session.connection().exec_driver_sql(
                "SELECT subject_id, randno, prodid, randdtc, unblinded, voided FROM randomization"
            )
            return {r[0]: Allocation(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5])) for r in rows}

    def record_answer(self, subject_id: str, randno: str, prodid: str, randdtc: str, change_id: str) -> None:
        """Used by `cik_ecrf.sync.randomize` only: keep the server's answer before the pull brings the event."""
        with self._store.unit_of_work() as session:
            record_answer(session.connection(), subject_id, randno, prodid, randdtc, change_id)
