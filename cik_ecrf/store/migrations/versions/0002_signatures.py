"""Electronic signatures (21 CFR 11.50/11.70): who signed what, with which meaning, over which content hash.

A signature covers one form, one visit or a whole casebook; `signature_item` lists the form instances it
covers, so a save can find (and clear) the signatures over the instance it changes.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signature",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(36), sa.ForeignKey("subject.id"), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("visit_id", sa.String(20), nullable=True),
        sa.Column("form_id", sa.String(40), nullable=True),
        sa.Column("meaning", sa.String(10), nullable=False),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("signed_at_utc", sa.String(40), nullable=False),
        sa.Column("utc_offset_min", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("audit_event_id", sa.String(36), nullable=False),
        sa.Column("cleared_at_utc", sa.String(40), nullable=True),
        sa.Column("cleared_event_id", sa.String(36), nullable=True),
        sa.Column("cleared_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_signature_subject", "signature", ["subject_id"])
    op.create_table(
        "signature_item",
        sa.Column("signature_id", sa.String(36), sa.ForeignKey("signature.id"), primary_key=True),
        sa.Column("instance_id", sa.String(36), sa.ForeignKey("form_instance.id"), primary_key=True),
    )
    op.create_index("ix_signature_item_instance", "signature_item", ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_signature_item_instance", "signature_item")
    op.drop_table("signature_item")
    op.drop_index("ix_signature_subject", "signature")
    op.drop_table("signature")
