"""Randomization marks on the laptop (no arm).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "randomization",
        sa.Column("subject_id", sa.String(36), primary_key=True),
        sa.Column("randno", sa.String(40), nullable=False),
        sa.Column("prodid", sa.String(40), nullable=False),
        sa.Column("randdtc", sa.String(40), nullable=False),
        sa.Column("unblinded", sa.Boolean(), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("randomization")
