"""Queries, source-data verification and locks on the laptop.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_query",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("visit_id", sa.String(20), nullable=False),
        sa.Column("form_id", sa.String(40), nullable=True),
        sa.Column("instance_id", sa.String(36), nullable=True),
        sa.Column("field_id", sa.String(40), nullable=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at_utc", sa.String(40), nullable=False),
        sa.Column("updated_at_utc", sa.String(40), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
    )
    op.create_index("ix_monitoring_query_status", "monitoring_query", ["status", "opened_at_utc"])
    op.create_index("ix_monitoring_query_subject", "monitoring_query", ["subject_id", "status"])
    op.create_index("ix_monitoring_query_instance", "monitoring_query", ["instance_id"])
    op.create_index("ix_monitoring_query_form", "monitoring_query", ["form_id", "status"])
    op.create_index("ix_monitoring_query_opened", "monitoring_query", ["opened_at_utc", "id"])
    op.create_table(
        "monitoring_message",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("query_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("transition", sa.String(20), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("at_utc", sa.String(40), nullable=False),
        sa.Column("utc_offset_min", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status_after", sa.String(16), nullable=False),
        sa.Column("correction", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_monitoring_message_query", "monitoring_message", ["query_id", "position"])
    op.create_table(
        "monitoring_sdv",
        sa.Column("instance_id", sa.String(36), primary_key=True),
        sa.Column("field_id", sa.String(40), primary_key=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("verified_by", sa.String(64), nullable=False),
        sa.Column("verified_at_utc", sa.String(40), nullable=False),
        sa.Column("dropped_at_utc", sa.String(40), nullable=True),
        sa.Column("dropped_by", sa.String(64), nullable=True),
    )
    op.create_table("monitoring_applied", sa.Column("event_id", sa.String(36), primary_key=True))
    op.create_table(
        "monitoring_lock",
        sa.Column("subject_id", sa.String(36), primary_key=True),
        sa.Column("visit_id", sa.String(20), primary_key=True),
        sa.Column("form_id", sa.String(40), primary_key=True),
        sa.Column("locked_by", sa.String(64), nullable=False),
        sa.Column("locked_at_utc", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("monitoring_lock")
    op.drop_table("monitoring_applied")
    op.drop_table("monitoring_sdv")
    op.drop_index("ix_monitoring_message_query", "monitoring_message")
    op.drop_table("monitoring_message")
    for name in ("opened", "form", "instance", "subject", "status"):
        op.drop_index(f"ix_monitoring_query_{name}", "monitoring_query")
    op.drop_table("monitoring_query")
