"""access: server-side member sessions; one pending Stripe call per member and operation

Revision ID: 0009_access_security
Revises: 0009_member_receipts_cards
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import market.db


revision = "0009_access_security"
down_revision = "0009_member_receipts_cards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", market.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", market.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_member_session_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_member_session_token_hash")),
    )
    with op.batch_alter_table("member_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_session_member_id"), ["member_id"], unique=False
        )
    # Older duplicates (the races this index stops) are closed before it is built.
    op.execute(
        "UPDATE stripe_call SET status = 'done' WHERE status = 'pending' AND id NOT IN "
        "(SELECT MIN(id) FROM stripe_call WHERE status = 'pending' "
        "GROUP BY member_id, operation)"
    )
    with op.batch_alter_table("stripe_call", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_at", market.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "uq_stripe_call_pending",
            ["member_id", "operation"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("stripe_call", schema=None) as batch_op:
        batch_op.drop_index("uq_stripe_call_pending")
        batch_op.drop_column("claimed_at")
    with op.batch_alter_table("member_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_session_member_id"))
    op.drop_table("member_session")
