"""The server's tables for study versions (same declarative Base as the server's models.py)."""

from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base


class StudyVersionRow(Base):
    """One published definitions set. Version 1 is the shipped forms, written at the first publish."""

    __tablename__ = "study_version"
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str] = mapped_column(Text)
    published_at: Mapped[str] = mapped_column(String(40))
    bundle: Mapped[str] = mapped_column(Text)  # JSON {file name: text}
    mapping: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON mapping from the version before


class InstanceFormVersion(Base):
    """The form version an instance was created under or upgraded to; none: version 1's form version."""

    __tablename__ = "instance_form_version"
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    form_version: Mapped[str] = mapped_column(String(20))
