"""ballot.salt: the salt of each receipt is kept, so a member can recompute their receipt later

Revision ID: 0009_member_ballot_salt
Revises: 0008_deals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_member_ballot_salt"
down_revision = "0008_deals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salt", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_column("salt")
