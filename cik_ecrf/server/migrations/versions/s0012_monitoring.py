"""Queries, source-data verification and locks.

Revision ID: s0012
Revises: s0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0012"
down_revision = "s0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_query",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("site_code", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=False),
        sa.Column("visit_id", sa.String(20), nullable=False),
        sa.Column("form_id", sa.String(40), nullable=True),
        sa.Column("instance_id", sa.String(36), nullable=True),
        sa.Column("field_id", sa.String(40), nullable=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_monitoring_query_instance", "monitoring_query", ["instance_id"])
    op.create_index("ix_monitoring_query_visit", "monitoring_query", ["subject_id", "visit_id"])
    op.create_table(
        "monitoring_sdv",
        sa.Column("instance_id", sa.String(36), primary_key=True),
        sa.Column("field_id", sa.String(40), primary_key=True),
        sa.Column("verified_by", sa.String(64), nullable=False),
        sa.Column("verified_seq", sa.BigInteger(), nullable=False),
        sa.Column("dropped_seq", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "monitoring_lock",
        sa.Column("subject_id", sa.String(36), primary_key=True),
        sa.Column("visit_id", sa.String(20), primary_key=True),
        sa.Column("form_id", sa.String(40), primary_key=True),
        sa.Column("site_code", sa.String(16), nullable=False),
        sa.Column("locked_by", sa.String(64), nullable=False),
        sa.Column("locked_seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("monitoring_lock")
    op.drop_table("monitoring_sdv")
    op.drop_index("ix_monitoring_query_visit", "monitoring_query")
    op.drop_index("ix_monitoring_query_instance", "monitoring_query")
    op.drop_table("monitoring_query")
