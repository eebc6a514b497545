"""Subject numbers unique per site: two sites may both have a paper screening number such as SCR-001.

Revision ID: s0003
Revises: s0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None

# SQLite keeps s0001's constraint unnamed: batch mode names it by this convention to drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _number_constraint() -> str:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints("subject"):
        if constraint["column_names"] == ["number"]:
            return constraint["name"] or "uq_subject_number"
    return "uq_subject_number"


def upgrade() -> None:
    with op.batch_alter_table("subject", naming_convention=NAMING) as batch:
        batch.drop_constraint(_number_constraint(), type_="unique")
        batch.create_unique_constraint("uq_subject_site_number", ["site_code", "number"])


def downgrade() -> None:
    with op.batch_alter_table("subject", naming_convention=NAMING) as batch:
        batch.drop_constraint("uq_subject_site_number", type_="unique")
        batch.create_unique_constraint("uq_subject_number", ["number"])
