"""The local store's tables (SQLAlchemy 2, typed). The alembic migrations are the source of truth
for the schema on disk; a test checks that these models and the migrated schema agree."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Store-wide facts: store id, this device, the audit chain head."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Site(Base):
    __tablename__ = "site"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Device(Base):
    __tablename__ = "device"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_code: Mapped[str] = mapped_column(ForeignKey("site.code"))
    code: Mapped[str] = mapped_column(String(8))  # part of subject numbers: unique within the site
    next_seq: Mapped[int] = mapped_column(Integer, default=1)  # per-device change sequence (sync)
    next_subject: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[str] = mapped_column(String(40))


class User(Base):
    __tablename__ = "user"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[str] = mapped_column(String(40))


class Subject(Base):
    __tablename__ = "subject"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # assigned once, never changed
    site_code: Mapped[str] = mapped_column(ForeignKey("site.code"))
    created_at: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str] = mapped_column(ForeignKey("user.id"))


class Visit(Base):
    __tablename__ = "visit"
    __table_args__ = (UniqueConstraint("subject_id", "visit_id", "repeat"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    visit_id: Mapped[str] = mapped_column(String(20))
    repeat: Mapped[int] = mapped_column(Integer, default=0)  # unscheduled visits repeat


class FormInstance(Base):
    __tablename__ = "form_instance"
    __table_args__ = (Index("ix_form_instance_visit", "visit_pk"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_pk: Mapped[str] = mapped_column(ForeignKey("visit.id"))
    form_id: Mapped[str] = mapped_column(String(40))
    form_version: Mapped[str] = mapped_column(String(20))  # the definition version it was entered under
    status: Mapped[str] = mapped_column(String(12))  # draft / complete / signed / locked
    created_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))


class FieldValue(Base):
    """The current value of one field; its history is the audit trail."""

    __tablename__ = "field_value"
    instance_id: Mapped[str] = mapped_column(ForeignKey("form_instance.id"), primary_key=True)
    field_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    value_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[str] = mapped_column(String(40))
    updated_by: Mapped[str] = mapped_column(ForeignKey("user.id"))
    server_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # for sync


class AuditEvent(Base):
    """Append-only, hash-chained: each row's hash covers its canonical encoding and the previous hash."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_subject", "subject_id"),
        Index("ix_audit_device", "device_id", "device_seq"),
    )  # second: the sync outbox
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    device_id: Mapped[str] = mapped_column(String(36))
    device_seq: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(20), nullable=True)
    at_utc: Mapped[str] = mapped_column(String(40))
    utc_offset_min: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    visit_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    form_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    field_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    old_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    confirmed_json: Mapped[str | None] = mapped_column(Text, nullable=True)  # soft checks confirmed
    base_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # server version it was based on
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# ---- signatures (migration 0002)


class Signature(Base):
    """One electronic signature over a form, a visit or a casebook; cleared (never deleted) when signed data changes."""

    __tablename__ = "signature"
    __table_args__ = (Index("ix_signature_subject", "subject_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    scope: Mapped[str] = mapped_column(String(10))  # form / visit / casebook
    visit_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    form_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    meaning: Mapped[str] = mapped_column(String(10))  # author / review / approve
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    username: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))  # printed name, as it was at signing
    role: Mapped[str] = mapped_column(String(20))
    signed_at_utc: Mapped[str] = mapped_column(String(40))
    utc_offset_min: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical signed content
    audit_event_id: Mapped[str] = mapped_column(String(36))
    cleared_at_utc: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cleared_event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    cleared_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class SignatureItem(Base):
    """The form instances one signature covers."""

    __tablename__ = "signature_item"
    __table_args__ = (Index("ix_signature_item_instance", "instance_id"),)
    signature_id: Mapped[str] = mapped_column(ForeignKey("signature.id"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("form_instance.id"), primary_key=True)


# ---- sync (issue 5): open conflicts and quarantined changes; cursor and marks live in `meta`


class SyncConflict(Base):
    """A field in conflict on the server: both (or all) values, until a `conflict_resolve` change closes it."""

    __tablename__ = "sync_conflict"
    instance_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    field_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conflict_seq: Mapped[int] = mapped_column(Integer)  # the server's sync_conflict event
    current_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    candidates_json: Mapped[str] = mapped_column(
        Text
    )  # [{value_json, username, at_utc, utc_offset_min, device_id, seq}]
    opened_at: Mapped[str] = mapped_column(String(40))


class SyncQuarantine(Base):
    """A change of this laptop the server refused, with its reason (kept, never re-sent)."""

    __tablename__ = "sync_quarantine"
    change_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_seq: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    at_utc: Mapped[str] = mapped_column(String(40))
