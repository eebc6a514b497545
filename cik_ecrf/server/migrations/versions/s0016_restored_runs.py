"""Restored runs: a laptop restored from an older copy may use its device numbers a second time, for
changes written after the restore; their seals are kept beside the first ones, not over them.

`change_seal` is keyed by (device, run, first device number), run 0 being the device's first history
and each declared restore the next run; `device_restore` names the run it opens.

Revision ID: s0016
Revises: s0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0016"
down_revision = "s0015"
branch_labels = None
depends_on = None


COLUMNS = ("device_id", "first_seq", "last_seq", "username", "key_id", "previous", "head", "signature", "received_at")


def _seal_table(name: str, with_run: bool) -> None:
    """change_seal's columns, keyed with or without the run (a new table: both backends, no batch copy)."""
    op.create_table(
        name,
        sa.Column("device_id", sa.String(36), primary_key=True),
        *([sa.Column("run", sa.Integer(), primary_key=True, server_default="0")] if with_run else []),
        sa.Column("first_seq", sa.BigInteger(), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("previous", sa.String(64), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )


def _copy(source: str, target: str, where: str = "") -> None:
    columns = ", ".join(COLUMNS)
    op.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source}{where}")


def upgrade() -> None:
    _seal_table("change_seal_runs", with_run=True)
    _copy("change_seal", "change_seal_runs")  # every seal so far is of run 0
    op.drop_table("change_seal")
    op.rename_table("change_seal_runs", "change_seal")
    op.create_index("ix_change_seal_device_last", "change_seal", ["device_id", "last_seq"])
    op.add_column("device_restore", sa.Column("run", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("device_restore") as batch:
        batch.drop_column("run")
    op.drop_index("ix_change_seal_device_last", "change_seal")
    _seal_table("change_seal_one", with_run=False)
    _copy("change_seal", "change_seal_one", " WHERE run = 0")  # a restored run's seals have no place there
    op.drop_table("change_seal")
    op.rename_table("change_seal_one", "change_seal")
