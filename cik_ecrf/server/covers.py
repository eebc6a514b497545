"""Which form instances each signature the server accepted covers, and whether it still holds."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class SignatureCover(Base):
    __tablename__ = "signature_cover"
    signature_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    signed_seq: Mapped[int] = mapped_column(BigInteger)
    cleared_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
