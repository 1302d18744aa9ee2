"""run request: the request that asked for a job run, kept on the run

A run the scheduler sends again (its message was lost, its worker died) is sent with the
id of the request that asked for it, so its log lines still name that request.

Revision ID: 0013_run_request
Revises: 0012_slots
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_run_request"
down_revision = "0012_slots"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_run") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_run") as batch:
        batch.drop_column("request_id")
