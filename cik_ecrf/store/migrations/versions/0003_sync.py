"""Sync with the central server: open conflicts, quarantined changes, and an index for the outbox.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_device", "audit_event", ["device_id", "device_seq"])
    op.create_table(
        "sync_conflict",
        sa.Column("instance_id", sa.String(36), primary_key=True),
        sa.Column("field_id", sa.String(40), primary_key=True),
        sa.Column("conflict_seq", sa.Integer(), nullable=False),
        sa.Column("current_json", sa.Text(), nullable=True),
        sa.Column("candidates_json", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "sync_quarantine",
        sa.Column("change_id", sa.String(36), primary_key=True),
        sa.Column("device_seq", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at_utc", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_quarantine")
    op.drop_table("sync_conflict")
    op.drop_index("ix_audit_device", "audit_event")
