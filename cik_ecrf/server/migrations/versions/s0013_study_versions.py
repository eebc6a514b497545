"""Published study versions (protocol amendments), and the form version each instance is on.

Revision ID: s0013
Revises: s0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0013"
down_revision = "s0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_version",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("published_at", sa.String(40), nullable=False),
        sa.Column("bundle", sa.Text(), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=True),
    )
    op.create_table(
        "instance_form_version",
        sa.Column("instance_id", sa.String(36), primary_key=True),
        sa.Column("form_version", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("instance_form_version")
    op.drop_table("study_version")
