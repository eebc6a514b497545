"""Per-user keys, device binding and chain anchors.

Revision ID: s0014
Revises: s0013
"""

from __future__ import annotations

revision = "s0014"
down_revision = "s0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
