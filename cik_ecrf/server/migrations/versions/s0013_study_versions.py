"""Published study versions (protocol amendments).

Revision ID: s0013
Revises: s0012
"""

from __future__ import annotations

revision = "s0013"
down_revision = "s0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
