"""The server's monitoring tables (migration s0012): the state the monitoring events produced; the
events themselves are in `change`, the central trail."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base


class MonitoringQuery(Base):
    __tablename__ = "monitoring_query"
    __table_args__ = (
        Index("ix_monitoring_query_instance", "instance_id"),
        Index("ix_monitoring_query_visit", "subject_id", "visit_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_code: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(36))
    visit_id: Mapped[str] = mapped_column(String(20))
    form_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    field_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    scope: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16))
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_seq: Mapped[int] = mapped_column(BigInteger)
    updated_seq: Mapped[int] = mapped_column(BigInteger)


class MonitoringSdv(Base):
    """A verified field (`field_id`) or whole form (`field_id` = ''); `dropped_seq` once its data changed."""

    __tablename__ = "monitoring_sdv"
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    field_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    verified_by: Mapped[str] = mapped_column(String(64))
    verified_seq: Mapped[int] = mapped_column(BigInteger)
    dropped_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class MonitoringLock(Base):
    """A lock of a subject (visit_id = form_id = ''), a visit (form_id = '') or a form."""

    __tablename__ = "monitoring_lock"
    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    form_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_code: Mapped[str] = mapped_column(String(16))
    locked_by: Mapped[str] = mapped_column(String(64))
    locked_seq: Mapped[int] = mapped_column(BigInteger)
