"""ledger_txn.period: the month each transaction's money is for (the Books group by it)

Existing rows are filled in once: dues from their invoice's month, rounds from the round's
month, payouts from the latest round published before they were recorded, everything else
from the month it occurred. The append-only triggers are lifted for that one UPDATE only.

Revision ID: 0010_books
Revises: 0010_member_account
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0010_books"
down_revision = "0010_member_account"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = {
    "update": "CREATE TRIGGER ledger_txn_no_update BEFORE UPDATE ON ledger_txn "
    "BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only (UPDATE on ledger_txn)'); END",
}


def _utc(value: object) -> str:
    """A stored moment as comparable UTC text (SQLite returns text, PostgreSQL datetimes)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value).replace("T", " ")


def _months(bind: sa.Connection) -> dict[int, str]:
    """The period of every existing transaction, worked out from what caused it."""
    txns = bind.execute(sa.text("SELECT id, key, kind, occurred_at FROM ledger_txn")).all()
    invoices: dict[str, str] = dict(bind.execute(sa.text("SELECT id, month FROM dues_invoice")).all())
    rounds: dict[int, str] = dict(bind.execute(sa.text("SELECT id, period FROM round")).all())
    published = bind.execute(
        sa.text(
            "SELECT published_at, period FROM round WHERE published_at IS NOT NULL "
            "ORDER BY published_at"
        )
    ).all()
    months: dict[int, str] = {}
    for txn_id, key, kind, occurred in txns:
        occurred_month = _utc(occurred)[:7]
        prefix, _, rest = str(key).partition(":")
        month = None
        if prefix == "invoice":
            month = invoices.get(rest)
        elif prefix == "round":
            head = rest.partition(":")[0]
            month = rounds.get(int(head)) if head.isdigit() else None
        elif kind == "payout":
            before = [p for at, p in published if _utc(at) <= _utc(occurred)]
            month = before[-1] if before else None
        months[txn_id] = month or occurred_month
    return months


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.add_column(
        "ledger_txn",
        sa.Column("period", sa.String(length=7), nullable=False, server_default=""),
    )
    months = _months(bind)
    if months:
        if postgres:
            op.execute("ALTER TABLE ledger_txn DISABLE TRIGGER ledger_txn_append_only")
        else:
            op.execute("DROP TRIGGER IF EXISTS ledger_txn_no_update")
        bind.execute(
            sa.text("UPDATE ledger_txn SET period = :period WHERE id = :id"),
            [{"id": i, "period": m} for i, m in months.items()],
        )
        if postgres:
            op.execute("ALTER TABLE ledger_txn ENABLE TRIGGER ledger_txn_append_only")
        else:
            op.execute(_SQLITE_TRIGGERS["update"])
    if postgres:
        # SQLite cannot drop a column default without rebuilding the table (and its
        # triggers); there the empty default stays, unused: post() always writes a period.
        op.alter_column("ledger_txn", "period", server_default=None)
    op.create_index("ix_ledger_txn_period", "ledger_txn", ["period"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ledger_txn_period", table_name="ledger_txn")
    # A plain DROP COLUMN (SQLite 3.35+), not a batch rebuild: rebuilding would drop the
    # table that postings reference (refused with foreign keys on) and lose its triggers.
    op.execute("ALTER TABLE ledger_txn DROP COLUMN period")
