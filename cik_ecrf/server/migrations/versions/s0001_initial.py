"""The server's first schema: sites, users, devices, the change log and the current state it produced.

Revision ID: s0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_meta", sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text(), nullable=False)
    )
    op.create_table(
        "seq_counter",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "site",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("site_code", sa.String(16), sa.ForeignKey("site.code"), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "device",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("site_code", sa.String(16), sa.ForeignKey("site.code"), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("site_code", "code"),
    )
    op.create_table(
        "change",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("site_code", sa.String(16), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("device_seq", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("instance_id", sa.String(36), nullable=True),
        sa.Column("field_id", sa.String(40), nullable=True),
        sa.Column("disposition", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_change_site_seq", "change", ["site_code", "seq"])
    op.create_index("ix_change_field", "change", ["instance_id", "field_id"])
    op.create_table(
        "subject",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("site_code", sa.String(16), sa.ForeignKey("site.code"), nullable=False),
    )
    op.create_table(
        "instance",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(36), sa.ForeignKey("subject.id"), nullable=False),
        sa.Column("visit_id", sa.String(20), nullable=False),
        sa.Column("form_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("site_code", sa.String(16), nullable=False),
    )
    op.create_table(
        "field_state",
        sa.Column("instance_id", sa.String(36), sa.ForeignKey("instance.id"), primary_key=True),
        sa.Column("field_id", sa.String(40), primary_key=True),
        sa.Column("value_json", sa.Text(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("conflict_seq", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    for table in (
        "field_state",
        "instance",
        "subject",
        "change",
        "device",
        "user_account",
        "site",
        "seq_counter",
        "server_meta",
    ):
        op.drop_table(table)
