"""slots: an account's balance in parts that concurrent bookings add to side by side

The account row keeps the part the general booking path writes (`base_cents`, renamed from
`balance_cents`); `account_slot` holds the parts PostgreSQL's one-statement booking adds
to, so that payments booked at the same moment no longer queue on one row. The balance is
their sum; existing balances stay in the row.

Revision ID: 0012_slots
Revises: 0011_outflow
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_slots"
down_revision = "0011_outflow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE account RENAME COLUMN balance_cents TO base_cents")
    op.create_table(
        "account_slot",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_account_slot_account_id_account")
        ),
        sa.PrimaryKeyConstraint("account_id", "slot", name=op.f("pk_account_slot")),
    )


def downgrade() -> None:
    # Fold the slots back into the rows first: no cent is lost going down.
    op.execute(
        "UPDATE account SET base_cents = base_cents + (SELECT sum(cents) FROM account_slot"
        " WHERE account_slot.account_id = account.id)"
        " WHERE id IN (SELECT account_id FROM account_slot)"
    )
    op.drop_table("account_slot")
    op.execute("ALTER TABLE account RENAME COLUMN base_cents TO balance_cents")
