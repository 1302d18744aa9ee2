"""members: deleted_at marks an account whose personal data was erased

Revision ID: 0010_member_deleted
Revises: 0009_jobs_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import market.db

revision = "0010_member_deleted"
down_revision = "0009_jobs_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("deleted_at", market.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("deleted_at")
