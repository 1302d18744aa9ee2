"""guard: what a claim burnt, channel names at publication, ratified terms, email preference

Revision ID: 0009_guard_records
Revises: 0008_deals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_guard_records"
down_revision = "0008_deals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stock_retired", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("round_channel", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=80), nullable=True))
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("terms", sa.JSON(), nullable=True))
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_member_text", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Ended claims whose key was retired, or whose seat was never given back, burnt stock.
    op.execute(
        "UPDATE claim SET stock_retired = TRUE WHERE released_at IS NOT NULL AND ("
        " licence_key_id IN (SELECT id FROM licence_key WHERE status = 'retired')"
        " OR (licence_key_id IS NULL AND product_id IN"
        "  (SELECT id FROM product WHERE kind = 'seat' AND NOT reassignable)))"
    )
    # Published rounds printed the channels' names as they are now: that is the best record.
    op.execute(
        "UPDATE round_channel SET name = (SELECT name FROM channel"
        " WHERE channel.id = round_channel.channel_id)"
        " WHERE round_id IN (SELECT id FROM round WHERE status = 'published')"
    )


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("email_member_text")
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_column("terms")
    with op.batch_alter_table("round_channel", schema=None) as batch_op:
        batch_op.drop_column("name")
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_column("stock_retired")
