"""api: personal access tokens (hashed, scoped, expiring, revocable)

Revision ID: 0010_api
Revises: 0010_close
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import market.db


revision = "0010_api"
down_revision = "0010_close"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("created_at", market.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", market.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", market.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", market.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scope IN ('read', 'member', 'admin')", name=op.f("ck_api_token_scope_known")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_api_token_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_member_id"))
    op.drop_table("api_token")
