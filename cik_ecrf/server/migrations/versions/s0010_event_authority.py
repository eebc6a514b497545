"""The server as the authority over changes: which instances each accepted signature covers (so that
only a held signature makes a form `signed`, and only a held signature is cleared), and an index for
each device's sequence (changes apply in device order, with no gaps).

Revision ID: s0010
Revises: s0004
"""

from __future__ import annotations

import json

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
    _backfill_covers()


def _backfill_covers() -> None:
    """Signatures accepted before this revision (logged, with the instances they cover) become covers,
    and those a later `signature_cleared` named are marked cleared: signed forms stay correctable."""
    conn = op.get_bind()
    change = sa.table("change", sa.column("seq"), sa.column("action"), sa.column("disposition"), sa.column("body"))
    cover = sa.table(
        "signature_cover",
        sa.column("signature_id"),
        sa.column("instance_id"),
        sa.column("signed_seq"),
        sa.column("cleared_seq"),
    )
    rows = conn.execute(
        sa.select(change.c.seq, change.c.action, change.c.body)
        .where(change.c.action.in_(("signature", "signature_cleared")), change.c.disposition == "applied")
        .order_by(change.c.seq)
    )
    covers: dict[tuple[str, str], dict[str, object]] = {}
    for seq, action, body in rows:
        try:
            event = json.loads(body)
            payload = json.loads(event.get("new_json" if action == "signature" else "old_json") or "{}")
        except (ValueError, AttributeError):
            continue
        signature = payload.get("signature") if isinstance(payload, dict) else None
        if not isinstance(signature, str) or len(signature) > 36:
            continue
        if action == "signature":
            for instance in payload.get("instances") or []:
                if isinstance(instance, str) and len(instance) <= 36:
                    covers[(signature, instance)] = {
                        "signature_id": signature,
                        "instance_id": instance,
                        "signed_seq": seq,
                        "cleared_seq": None,
                    }
        else:
            for key, row in covers.items():
                if key[0] == signature and row["cleared_seq"] is None:
                    row["cleared_seq"] = seq
    if covers:
        op.bulk_insert(cover, list(covers.values()))


def downgrade() -> None:
    op.drop_index("ix_change_device_seq", "change")
    op.drop_index("ix_signature_cover_instance", "signature_cover")
    op.drop_table("signature_cover")
