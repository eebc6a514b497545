"""Queries, source-data verification and locks.

Revision ID: s0012
Revises: s0011
"""

from __future__ import annotations

revision = "s0012"
down_revision = "s0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
