"""Randomization lists, allocations, unblinding records.

Revision ID: s0011
Revises: s0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0011"
down_revision = "s0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rand_list",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("seed", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("design_json", sa.Text(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("retired_at", sa.String(40), nullable=True),
    )
    op.create_table(
        "rand_slot",
        sa.Column("list_id", sa.String(36), sa.ForeignKey("rand_list.id"), primary_key=True),
        sa.Column("stratum", sa.String(40), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("block_size", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(16), nullable=False),
        sa.Column("randno", sa.String(40), nullable=False, unique=True),
        sa.Column("prodid", sa.String(40), nullable=False, unique=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_rand_slot_free", "rand_slot", ["list_id", "stratum", "status", "position"])
    op.create_table(
        "rand_allocation",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(36), sa.ForeignKey("subject.id"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("site_code", sa.String(16), nullable=False),
        sa.Column("list_id", sa.String(36), nullable=False),
        sa.Column("stratum", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("randno", sa.String(40), nullable=False, unique=True),
        sa.Column("prodid", sa.String(40), nullable=False),
        sa.Column("randdtc", sa.String(40), nullable=False),
        sa.Column("stratum_values", sa.Text(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("change_id", sa.String(36), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("unblinded", sa.Boolean(), nullable=False),
        sa.Column("voided_at", sa.String(40), nullable=True),
        sa.Column("voided_by", sa.String(64), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("subject_id", "attempt", name="uq_rand_allocation_subject_attempt"),
    )
    op.create_table(
        "rand_again",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(36), sa.ForeignKey("subject.id"), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.UniqueConstraint("subject_id", "attempt", name="uq_rand_again_subject_attempt"),
    )
    op.create_table(
        "rand_unblinding",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(36), sa.ForeignKey("subject.id"), nullable=False),
        sa.Column("randno", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("site_code", sa.String(16), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("opened_at", sa.String(40), nullable=True),
    )
    op.create_table(
        "rand_audit",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("subject_id", sa.String(36), nullable=True),
        sa.Column("list_id", sa.String(36), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("rand_audit", "rand_unblinding", "rand_again", "rand_allocation", "rand_slot", "rand_list"):
        op.drop_table(table)
