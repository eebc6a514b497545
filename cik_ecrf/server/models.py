"""The central server's tables (SQLAlchemy 2, typed); its alembic migrations are the schema's source of truth.

`change` is the log of every change any laptop pushed (the union of all changes: nothing is dropped,
rejected ones included); `subject`, `instance` and `field` are the current state the log produced.
`seq_counter` is one row: locking it orders push transactions, so `change.seq` is commit order.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ServerMeta(Base):
    __tablename__ = "server_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SeqCounter(Base):
    __tablename__ = "seq_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_seq: Mapped[int] = mapped_column(BigInteger)


class Site(Base):
    __tablename__ = "site"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(40))


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    site_code: Mapped[str] = mapped_column(ForeignKey("site.code"))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[str] = mapped_column(String(40))
    # What the password derives (argon2id, with this salt and cost): laptops of the site wrap their store
    # key with it, so the user can sign in offline on a laptop that never saw the password. Password-
    # equivalent for those keyrings: kept only here and sent only to enrolled laptops of the user's site.
    login_kdf: Mapped[str | None] = mapped_column(Text, nullable=True)
    login_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    password_set_at: Mapped[str | None] = mapped_column(String(40), nullable=True)


class LoginThrottle(Base):
    """Failed password checks per user name (`user:NAME`) or source address (`address:IP`), and their lockout.

    Kept in the database so that a lockout holds across server processes and restarts. Unknown user
    names get rows too: a locked name must not tell whether the user exists.
    """

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)  # attempts not (yet) known to have succeeded, this window
    lockouts: Mapped[int] = mapped_column(Integer)  # lockouts in a row: each lasts twice the one before
    last_failure_at: Mapped[str] = mapped_column(String(40))
    locked_until: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Device(Base):
    """An enrolled laptop; its token is stored as a SHA-256 hash (tokens are 256 random bits)."""

    __tablename__ = "device"
    __table_args__ = (UniqueConstraint("site_code", "code"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site_code: Mapped[str] = mapped_column(ForeignKey("site.code"))
    code: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[str] = mapped_column(String(40))


class Change(Base):
    __tablename__ = "change"
    __table_args__ = (
        Index("ix_change_site_seq", "site_code", "seq"),
        Index("ix_change_field", "instance_id", "field_id"),
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    site_code: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[str] = mapped_column(String(36))
    device_seq: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(30))
    instance_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    field_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    disposition: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    body: Mapped[str] = mapped_column(Text)  # the change as pushed (protocol JSON)
    received_at: Mapped[str] = mapped_column(String(40))


class Subject(Base):
    """A subject's number is unique within its site: sites number subjects on their own (paper screening logs)."""

    __tablename__ = "subject"
    __table_args__ = (UniqueConstraint("site_code", "number", name="uq_subject_site_number"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    site_code: Mapped[str] = mapped_column(ForeignKey("site.code"))


class Instance(Base):
    __tablename__ = "instance"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    visit_id: Mapped[str] = mapped_column(String(20))
    form_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    site_code: Mapped[str] = mapped_column(String(16))


class FieldState(Base):
    """A field's current value (None: cleared), the change that set it, and whether it is in conflict."""

    __tablename__ = "field_state"
    instance_id: Mapped[str] = mapped_column(ForeignKey("instance.id"), primary_key=True)
    field_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    value_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(BigInteger)
    device_id: Mapped[str] = mapped_column(String(36))
    conflict_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the open conflict's event
