"""outflow: an index of the postings that take money out of an account

Every paid invoice asks whether its month's pool was shared out yet; without this index
PostgreSQL read every posting of the pool (one per payment of the month) to find none.

Revision ID: 0011_outflow
Revises: 0010_dealballot
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_outflow"
down_revision = "0010_dealballot"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_posting_outflow",
        "posting",
        ["account_id"],
        unique=False,
        postgresql_where=sa.text("amount_cents < 0"),
        sqlite_where=sa.text("amount_cents < 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_posting_outflow", table_name="posting")
