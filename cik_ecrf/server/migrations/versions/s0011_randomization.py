"""Randomization lists, allocations, unblinding records.

Revision ID: s0011
Revises: s0010
"""

from __future__ import annotations

revision = "s0011"
down_revision = "s0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
