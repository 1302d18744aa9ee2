"""A booking in one statement on PostgreSQL: the hot path of every paid invoice.

`post()` otherwise takes four round trips (the transaction row, its accounts locked in id
order, the postings, the balances), and the accounts stay locked across all of them. Here
data-modifying CTEs do the four in one statement, all or nothing:

- `locked` locks the accounts in id order, as every booking does (no deadlocks);
- `ready` is true only when every account exists in the booking's currency;
- `txn` inserts the transaction only when ready, unless its key was booked before;
- `moved` and `posted` change the balances and write the postings only when `txn` did.

When not ready (an account used for the first time, or one in another currency) nothing
was written and `post()` takes its general path, which creates accounts and explains
refusals. Postings go in account id order, as on the general path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import Connection, TextClause, text


@lru_cache(maxsize=64)
def _statement(count: int) -> TextClause:
    codes = ", ".join(f":c{i}" for i in range(count))
    change = " ".join(f"WHEN :c{i} THEN CAST(:d{i} AS BIGINT)" for i in range(count))
    return text(
        f"""
        WITH locked AS (
            SELECT id, code, currency FROM account
            WHERE code IN ({codes}) ORDER BY id FOR UPDATE
        ), ready AS (
            SELECT count(*) = {count} AS ok FROM locked WHERE currency = :currency
        ), txn AS (
            INSERT INTO ledger_txn ("key", kind, memo, occurred_at, period, created_at)
            SELECT :key, :kind, :memo, :occurred_at, :period, :created_at
            FROM ready WHERE ready.ok
            ON CONFLICT ("key") DO NOTHING
            RETURNING id
        ), moved AS (
            UPDATE account SET balance_cents = account.balance_cents + CASE locked.code {change} END
            FROM locked, txn WHERE account.id = locked.id
            RETURNING account.id
        ), posted AS (
            INSERT INTO posting (txn_id, account_id, amount_cents)
            SELECT txn.id, locked.id, CASE locked.code {change} END
            FROM txn, locked ORDER BY locked.id
            RETURNING id
        )
        SELECT (SELECT ok FROM ready) AS ok, (SELECT id FROM txn) AS txn_id,
               (SELECT array_agg(id) FROM moved) AS moved, (SELECT count(*) FROM posted) AS posted
        """
    )


def book(
    conn: Connection,
    txn: dict[str, object],
    changes: dict[str, int],
    currency: str,
) -> tuple[bool, int | None, list[int]]:
    """(ready, transaction id, the accounts changed): not ready means nothing was written;
    an id of None with ready means the key was booked before (nothing written either)."""
    codes = sorted(changes)
    params: dict[str, object] = {f"c{i}": code for i, code in enumerate(codes)}
    params.update({f"d{i}": changes[code] for i, code in enumerate(codes)})
    for name in ("occurred_at", "created_at"):
        moment = txn[name]
        assert isinstance(moment, datetime) and moment.tzinfo is not None
        params[name] = moment.astimezone(UTC)
    params.update(
        {k: v for k, v in txn.items() if k not in ("occurred_at", "created_at")},
        currency=currency,
    )
    row = conn.execute(_statement(len(codes)), params).one()
    if not row.ok:
        return False, None, []
    if row.txn_id is None:
        return True, None, []
    moved = list(row.moved or [])
    assert len(moved) == row.posted == len(codes), "a booking wrote only part of itself"
    return True, row.txn_id, moved
