"""reserve: the acquisition reserve (a kind of channel, its target, spending decisions), quorum

Revision ID: 0010_reserve
Revises: 0010_books
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from market.db import UTCDateTime

revision = "0010_reserve"
down_revision = "0010_books"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="bundle")
        )
        batch_op.create_check_constraint(
            op.f("ck_channel_kind_known"), "kind IN ('bundle', 'reserve')"
        )
    op.create_index(
        "uq_channel_one_reserve",
        "channel",
        ["kind"],
        unique=True,
        sqlite_where=sa.text("kind = 'reserve'"),
        postgresql_where=sa.text("kind = 'reserve'"),
    )
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quorum_bp", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quorum_base", sa.Integer(), nullable=True))
    op.create_table(
        "reserve_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("target_cents >= 0", name=op.f("ck_reserve_target_target_nonnegative")),
        sa.ForeignKeyConstraint(
            ["set_by"], ["member.id"], name=op.f("fk_reserve_target_set_by_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reserve_target")),
    )
    op.create_table(
        "reserve_spend",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("proposed_by", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_reserve_spend_amount_positive")),
        sa.CheckConstraint(
            "status IN ('pending', 'booked', 'not_passed', 'refused')",
            name=op.f("ck_reserve_spend_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposal.id"], name=op.f("fk_reserve_spend_proposal_id_proposal")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendor.id"], name=op.f("fk_reserve_spend_vendor_id_vendor")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["member.id"], name=op.f("fk_reserve_spend_proposed_by_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reserve_spend")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_reserve_spend_proposal_id")),
    )
    op.create_index(
        op.f("ix_reserve_spend_vendor_id"), "reserve_spend", ["vendor_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_reserve_spend_vendor_id"), table_name="reserve_spend")
    op.drop_table("reserve_spend")
    op.drop_table("reserve_target")
    with op.batch_alter_table("proposal", schema=None) as batch_op:
        batch_op.drop_column("quorum_base")
        batch_op.drop_column("quorum_bp")
    op.drop_index("uq_channel_one_reserve", table_name="channel")
    with op.batch_alter_table("channel", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_channel_kind_known"), type_="check")
        batch_op.drop_column("kind")
