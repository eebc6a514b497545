"""Devices (server/devices.py): an administrator's leave for a revoked device to enrol again, and a
restored laptop's declared run of device numbers.

Revision ID: s0015
Revises: s0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0015"
down_revision = "s0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_permit",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("for_user", sa.String(64), nullable=True),
        sa.Column("allowed_by", sa.String(64), nullable=False),
        sa.Column("allowed_at", sa.String(40), nullable=False),
        sa.Column("used_at", sa.String(40), nullable=True),
        sa.Column("used_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_device_permit_device_id", "device_permit", ["device_id"])
    op.create_table(
        "device_restore",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("from_seq", sa.BigInteger(), nullable=False),
        sa.Column("to_seq", sa.BigInteger(), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.Column("server_seq", sa.BigInteger(), nullable=False),
        sa.Column("declared_by", sa.String(36), nullable=False),
        sa.Column("declared_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("device_restore")
    op.drop_index("ix_device_permit_device_id", "device_permit")
    op.drop_table("device_permit")
