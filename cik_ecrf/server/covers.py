"""Which form instances each signature the server accepted covers, and whether it still holds: only a
held signature makes a form `signed`, and only a held one is cleared. `SignatureCovers` is a mixin of
`BatchApplier`, whose state it reads (`conn`, `covers`, `new_covers`, `cleared`, `instances`, `read`,
`position`, `device_id`, `next_seq`, `refused_edits`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from ..core.status import FormStatus
from ..events.change import Change
from ..events.registry import VALUE_ACTIONS
from .models import Base
from .models import Change as ChangeRow

#: server-written events that set values on laptops (a randomization's fields): changes from elsewhere too
SERVER_VALUE_ACTIONS = frozenset({"randomized", "randomization_voided"})


class SignatureCover(Base):
    __tablename__ = "signature_cover"
    signature_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    signed_seq: Mapped[int] = mapped_column(BigInteger)
    cleared_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class SignatureCovers:
    conn: Any
    covers: dict[str, dict[str, int]]
    new_covers: list[dict[str, Any]]
    cleared: dict[str, int]
    instances: dict[str, dict[str, Any]]
    read: list[tuple[Change | None, str, str | None]]
    position: int
    device_id: str
    site: str
    next_seq: int
    refused_edits: set[str]

    def set_status(self, instance: dict[str, Any], status: str) -> None:
        raise AssertionError("provided by BatchApplier")

    def _load_instance(self, instance_id: str) -> dict[str, Any] | None:
        raise AssertionError("provided by BatchApplier")

    def _covers(self, instance_id: str) -> dict[str, int]:
        if instance_id not in self.covers:
            rows = self.conn.execute(
                select(SignatureCover.signature_id, SignatureCover.signed_seq).where(
                    SignatureCover.instance_id == instance_id, SignatureCover.cleared_seq.is_(None)
                )
            )
            self.covers[instance_id] = {sid: seq for sid, seq in rows if sid not in self.cleared}
        return self.covers[instance_id]

    def active_signatures(self, instance_id: str) -> set[str]:
        return set(self._covers(instance_id))

    def add_signature(self, signature_id: str, instance_ids: list[str]) -> None:
        for instance_id in instance_ids:
            self._covers(instance_id)[signature_id] = self.next_seq
            self.new_covers.append(
                {"signature_id": signature_id, "instance_id": instance_id, "signed_seq": self.next_seq}
            )
            instance = self.instances[instance_id]
            if instance["status"] != FormStatus.SIGNED:
                self.set_status(instance, FormStatus.SIGNED.value)
            self.refused_edits.discard(instance_id)

    def clear_signature(self, signature_id: str) -> list[str]:
        covered = set(
            self.conn.execute(
                select(SignatureCover.instance_id).where(SignatureCover.signature_id == signature_id)
            ).scalars()
        )
        covered |= {c["instance_id"] for c in self.new_covers if c["signature_id"] == signature_id}
        self.cleared[signature_id] = self.next_seq
        for instance_id in covered:
            active = self._covers(instance_id)
            active.pop(signature_id, None)
            instance = self.instances.get(instance_id) or self._load_instance(instance_id)
            if instance is not None and not active and instance["status"] == FormStatus.SIGNED:
                self.set_status(instance, FormStatus.COMPLETE.value)
                self.refused_edits.discard(instance_id)
        return sorted(covered)

    def touched_since_signed(self, change: Change, signature_id: str) -> bool:
        """Does a value change really touch the signed form? Later in this push by this laptop, or a
        change of another device: the one the clearing names (`base_version`: the server seq of the
        pulled change that landed on the signed data on the signing laptop), else one after this laptop's
        own last change of the form. This laptop's own changes never count as from elsewhere, and its
        own later edit does not hide a change from elsewhere it had not seen when it signed."""
        for later, _, _ in self.read[self.position + 1 :]:
            if later is not None and later.instance_id == change.instance_id and later.action in VALUE_ACTIONS:
                return True
        if change.base_version is not None:
            named = self.conn.execute(
                select(ChangeRow.device_id, ChangeRow.instance_id, ChangeRow.action, ChangeRow.disposition).where(
                    ChangeRow.seq == change.base_version, ChangeRow.site_code == self.site
                )
            ).first()
            return (
                named is not None
                and named.device_id != self.device_id
                and named.instance_id == change.instance_id
                and named.action in VALUE_ACTIONS | SERVER_VALUE_ACTIONS
                and named.disposition in ("applied", "merged")
            )
        own = self.conn.execute(
            select(func.max(ChangeRow.seq)).where(
                ChangeRow.instance_id == change.instance_id,
                ChangeRow.device_id == self.device_id,
                ChangeRow.action.in_(sorted(VALUE_ACTIONS)),
            )
        ).scalar()
        other = select(ChangeRow.seq).where(
            ChangeRow.instance_id == change.instance_id,
            ChangeRow.device_id != self.device_id,
            ChangeRow.action.in_(sorted(VALUE_ACTIONS)),
            ChangeRow.disposition.in_(("applied", "merged")),
            ChangeRow.seq > (own or 0),
        )
        return self.conn.execute(other.limit(1)).first() is not None
