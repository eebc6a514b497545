"""The server as the authority over changes: which instances each accepted signature covers (so that
only a held signature makes a form `signed`, and only a held signature is cleared), and an index for
each device's sequence (changes apply in device order, with no gaps).

Revision ID: s0010
Revises: s0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0010"
down_revision = "s0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signature_cover",
        sa.Column("signature_id", sa.String(36), primary_key=True),
        sa.Column("instance_id", sa.String(36), primary_key=True),
        sa.Column("signed_seq", sa.BigInteger(), nullable=False),
        sa.Column("cleared_seq", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_signature_cover_instance", "signature_cover", ["instance_id"])
    op.create_index("ix_change_device_seq", "change", ["device_id", "device_seq"])


def downgrade() -> None:
    op.drop_index("ix_change_device_seq", "change")
    op.drop_index("ix_signature_cover_instance", "signature_cover")
    op.drop_table("signature_cover")
