"""Central users' login keys: laptops wrap their store key with them, for offline sign-in.

Revision ID: s0002
Revises: s0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("login_kdf", sa.Text(), nullable=True))
        batch.add_column(sa.Column("login_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("password_set_at", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("password_set_at")
        batch.drop_column("login_key")
        batch.drop_column("login_kdf")
