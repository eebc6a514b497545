"""Per-user keys, sealed saves and signature proofs (store/authorship.py).

The device chain is computed over the events this laptop wrote before (they stay unsigned: written
before anyone had keys, noted by `audit verify`, and refused by the server if they were never pushed);
everything from `sealed_from` on is sealed. Users get keys at their next login (local users) or sync
(central users), not here: the migration has no password.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_key",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("sign_public", sa.String(64), nullable=False),
        sa.Column("box_public", sa.String(64), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "audit_seal",
        sa.Column("first_seq", sa.Integer(), primary_key=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("previous", sa.String(64), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=True),
    )
    op.create_table(
        "signature_proof",
        sa.Column("signature_id", sa.String(36), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
    )
    _seal_legacy()


def _seal_legacy() -> None:
    """Unsigned seals over the events written so far, so the device chain starts at the first one."""
    from cik_ecrf.core import keys
    from cik_ecrf.events.change import CHANGE_FIELDS

    conn = op.get_bind()
    device = conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'device_id'").scalar()
    if device is None:
        return  # a store being created: nothing written yet
    rows = conn.exec_driver_sql(
        f"SELECT {', '.join(CHANGE_FIELDS)} FROM audit_event WHERE device_id = ? ORDER BY device_seq", (device,)
    ).all()
    events = [dict(zip(CHANGE_FIELDS, row, strict=True)) for row in rows]
    head = keys.GENESIS
    for start in range(0, len(events), keys.SEAL_LIMIT):
        run = events[start : start + keys.SEAL_LIMIT]
        after = keys.chain(head, run)
        conn.exec_driver_sql(
            "INSERT INTO audit_seal (first_seq, last_seq, previous, head) VALUES (?, ?, ?, ?)",
            (run[0]["device_seq"], run[-1]["device_seq"], head, after),
        )
        head = after
    next_seq = (events[-1]["device_seq"] + 1) if events else 1
    conn.exec_driver_sql(
        "INSERT INTO meta (key, value) VALUES ('device_head', ?), ('sealed_from', ?)", (head, str(next_seq))
    )


def downgrade() -> None:
    op.drop_table("signature_proof")
    op.drop_table("audit_seal")
    op.drop_table("user_key")
