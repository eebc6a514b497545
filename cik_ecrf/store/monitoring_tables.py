"""The laptop's monitoring tables (migration 0005): queries and their threads, source-data
verification marks, and the locks this laptop knows of. They are the state the monitoring events
produced (local ones when made here, pulled ones in the server's order); the events themselves are
the audit trail."""

from __future__ import annotations

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class MonitoringQuery(Base):
    """One query on a field, a form or a visit; the list views read only this table (and subject)."""

    __tablename__ = "monitoring_query"
    __table_args__ = (
        Index("ix_monitoring_query_status", "status", "opened_at_utc"),
        Index("ix_monitoring_query_subject", "subject_id", "status"),
        Index("ix_monitoring_query_instance", "instance_id"),
        Index("ix_monitoring_query_form", "form_id", "status"),
        Index("ix_monitoring_query_opened", "opened_at_utc", "id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(36))
    visit_id: Mapped[str] = mapped_column(String(20))
    form_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    field_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    scope: Mapped[str] = mapped_column(String(8))  # field / form / visit
    kind: Mapped[str] = mapped_column(String(10))  # manual / review / conflict
    status: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at_utc: Mapped[str] = mapped_column(String(40))
    updated_at_utc: Mapped[str] = mapped_column(String(40))
    messages: Mapped[int] = mapped_column(Integer)


class MonitoringMessage(Base):
    """One step of a query's thread (its opening, each answer, close, reopen, the server's notes)."""

    __tablename__ = "monitoring_message"
    __table_args__ = (Index("ix_monitoring_message_query", "query_id", "position"),)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    query_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(Integer)
    transition: Mapped[str] = mapped_column(String(20))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    at_utc: Mapped[str] = mapped_column(String(40))
    utc_offset_min: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_after: Mapped[str] = mapped_column(String(16))
    correction: Mapped[bool] = mapped_column(Boolean)


class MonitoringSdv(Base):
    """Source-data verification of one field (`field_id`) or a whole form (`field_id` = '')."""

    __tablename__ = "monitoring_sdv"
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    field_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[str] = mapped_column(String(10))  # verified / dropped
    verified_by: Mapped[str] = mapped_column(String(64))
    verified_at_utc: Mapped[str] = mapped_column(String(40))
    dropped_at_utc: Mapped[str | None] = mapped_column(String(40), nullable=True)
    dropped_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class MonitoringLock(Base):
    """A data manager's lock of a subject (visit_id = form_id = ''), a visit (form_id = '') or a form."""

    __tablename__ = "monitoring_lock"
    subject_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    form_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    locked_by: Mapped[str] = mapped_column(String(64))
    locked_at_utc: Mapped[str] = mapped_column(String(40))


class MonitoringApplied(Base):
    """Every monitoring event applied here, made here or pulled: one that comes back from the server is
    passed over, and one this laptop lost (a store put back from a copy) is applied again."""

    __tablename__ = "monitoring_applied"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
