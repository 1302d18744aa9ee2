"""access: server-side member sessions (logout, password change and demotion end them)

Revision ID: 0009_access_sessions
Revises: 0008_deals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import market.db


revision = "0009_access_sessions"
down_revision = "0008_deals"
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


def downgrade() -> None:
    with op.batch_alter_table("member_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_session_member_id"))
    op.drop_table("member_session")
