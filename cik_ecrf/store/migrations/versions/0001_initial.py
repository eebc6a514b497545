"""The first schema: sites, devices, users, subjects, visits, form instances, values, audit trail.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta", sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.Text(), nullable=False)
    )
    op.create_table(
        "site", sa.Column("code", sa.String(16), primary_key=True), sa.Column("name", sa.String(200), nullable=False)
    )
    op.create_table(
        "device",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("site_code", sa.String(16), sa.ForeignKey("site.code"), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("next_seq", sa.Integer(), nullable=False),
        sa.Column("next_subject", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "subject",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False, unique=True),
        sa.Column("site_code", sa.String(16), sa.ForeignKey("site.code"), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(36), sa.ForeignKey("user.id"), nullable=False),
    )
    op.create_table(
        "visit",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(36), sa.ForeignKey("subject.id"), nullable=False),
        sa.Column("visit_id", sa.String(20), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.UniqueConstraint("subject_id", "visit_id", "repeat"),
    )
    op.create_table(
        "form_instance",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("visit_pk", sa.String(36), sa.ForeignKey("visit.id"), nullable=False),
        sa.Column("form_id", sa.String(40), nullable=False),
        sa.Column("form_version", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_form_instance_visit", "form_instance", ["visit_pk"])
    op.create_table(
        "field_value",
        sa.Column("instance_id", sa.String(36), sa.ForeignKey("form_instance.id"), primary_key=True),
        sa.Column("field_id", sa.String(40), primary_key=True),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("updated_by", sa.String(36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("server_version", sa.Integer(), nullable=True),
    )
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("device_seq", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("at_utc", sa.String(40), nullable=False),
        sa.Column("utc_offset_min", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=True),
        sa.Column("visit_id", sa.String(20), nullable=True),
        sa.Column("form_id", sa.String(40), nullable=True),
        sa.Column("instance_id", sa.String(36), nullable=True),
        sa.Column("field_id", sa.String(40), nullable=True),
        sa.Column("old_json", sa.Text(), nullable=True),
        sa.Column("new_json", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("confirmed_json", sa.Text(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_subject", "audit_event", ["subject_id"])


def downgrade() -> None:
    for table in ("audit_event", "field_value", "form_instance", "visit", "subject", "user", "device", "site", "meta"):
        op.drop_table(table)
