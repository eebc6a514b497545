"""Study versions received from the server (protocol amendments); version 1 is the shipped forms.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_version",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("published_at", sa.String(40), nullable=False),
        sa.Column("bundle", sa.Text(), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("study_version")
