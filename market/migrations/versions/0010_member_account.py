"""members: deleted_at marks an erased account; email_verified_at a confirmed address

Revision ID: 0010_member_account
Revises: 0009_jobs_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import market.db

revision = "0010_member_account"
down_revision = "0009_jobs_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("deleted_at", market.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("email_verified_at", market.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("email_verified_at")
        batch.drop_column("deleted_at")
