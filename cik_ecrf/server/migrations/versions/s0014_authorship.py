"""Per-user keys, signed changes and chain anchors (server/authorship.py).

Existing users get a key pair locked under the login key their password derived (s0002), so the same
password opens it and nobody has to set a password again; then the login keys, which were password
equivalents sent to laptops, are erased. A user without a login key gets keys at their next password
set centrally or their next enrolment (the server sees the password then).

Revision ID: s0014
Revises: s0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0014"
down_revision = "s0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_key",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("sign_public", sa.String(64), nullable=False),
        sa.Column("box_public", sa.String(64), nullable=False),
        sa.Column("locked", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("retired_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_user_key_user_id", "user_key", ["user_id"])
    op.create_table(
        "change_seal",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("first_seq", sa.BigInteger(), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("previous", sa.String(64), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "device_anchor",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("device_seq", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("flagged_at", sa.String(40), nullable=True),
        sa.Column("flag_reason", sa.Text(), nullable=True),
    )
    _keys_from_login_keys()


def _keys_from_login_keys() -> None:
    from cik_ecrf.server.authorship import migrate_login_key

    conn = op.get_bind()
    users = sa.table(
        "user_account", sa.column("id"), sa.column("username"), sa.column("login_kdf"), sa.column("login_key")
    )
    key = sa.table(
        "user_key",
        *(sa.column(c) for c in "key_id user_id sign_public box_public locked created_at retired_at".split()),
    )
    rows = conn.execute(
        sa.select(users.c.id, users.c.username, users.c.login_kdf, users.c.login_key).where(
            users.c.login_kdf.is_not(None), users.c.login_key.is_not(None)
        )
    ).all()
    made = [migrate_login_key(*row) for row in rows]
    if made:
        conn.execute(key.insert(), made)
    conn.execute(users.update().values(login_kdf=None, login_key=None))


def downgrade() -> None:
    op.drop_table("device_anchor")
    op.drop_table("change_seal")
    op.drop_index("ix_user_key_user_id", "user_key")
    op.drop_table("user_key")
