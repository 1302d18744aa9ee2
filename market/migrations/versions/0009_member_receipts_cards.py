"""ballot.salt (kept so a member can recompute their receipt); the card's brand and last four

Revision ID: 0009_member_receipts_cards
Revises: 0009_guard_records
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_member_receipts_cards"
down_revision = "0009_guard_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salt", sa.String(length=32), nullable=True))
    with op.batch_alter_table("dues_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_brand", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("card_last4", sa.String(length=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dues_account", schema=None) as batch_op:
        batch_op.drop_column("card_last4")
        batch_op.drop_column("card_brand")
    with op.batch_alter_table("ballot", schema=None) as batch_op:
        batch_op.drop_column("salt")
