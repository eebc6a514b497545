"""Failed password checks and lockouts, per user name and per source address.

Revision ID: s0004
Revises: s0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.String(40), nullable=False),
        sa.Column("locked_until", sa.String(40), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
