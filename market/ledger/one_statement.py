"""A booking in one statement on PostgreSQL: the hot path of every paid invoice.

`post()` otherwise takes four round trips (the transaction row, its accounts locked in id
order, the postings, the balances), and the accounts stay locked across all of them. Here
data-modifying CTEs do it in one statement:

- `txn` inserts the transaction unless its key was booked before (a concurrent booking of
  the same key makes it wait here, before it holds any account);
- `found` reads the accounts; `ready` is true only when every one exists in the booking's
  currency;
- `moved` adds each account's change to one of its SLOTS slot rows (`AccountSlot`), the one
  the transaction's id picks, in account id order, and `posted` writes the postings, both
  only when ready.

No account row is locked or updated: bookings at the same moment (every paid invoice moves
money between the same three accounts) land on different slots instead of queueing on one
row; two on the same slot take its rows in account id order, as the general path takes the
accounts, so they cannot deadlock. Whoever must read a balance that no one changes
meanwhile (a decision spending the reserve) locks the account row and reads the balance in
a statement of its own, which sees every booking committed before it.

When not ready (an account used for the first time, or one in another currency) only the
transaction row was written, and `post()` carries on with its general path from there: it
creates accounts, explains refusals, and adds to the account rows themselves. Postings go
in account id order, as there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import Connection, text

from market.driver import OnDriver

SLOTS = 16  # slot rows per account (AccountSlot): bookings at once rarely share one


@lru_cache(maxsize=64)
def _statement(count: int) -> OnDriver:
    codes = ", ".join(f":c{i}" for i in range(count))
    change = " ".join(f"WHEN :c{i} THEN CAST(:d{i} AS BIGINT)" for i in range(count))
    return OnDriver(
        text(
            f"""
        WITH txn AS (
            INSERT INTO ledger_txn ("key", kind, memo, occurred_at, period, created_at)
            VALUES (:key, :kind, :memo, :occurred_at, :period, :created_at)
            ON CONFLICT ("key") DO NOTHING
            RETURNING id
        ), found AS (
            SELECT id, code, currency FROM account
            WHERE code IN ({codes}) AND EXISTS (SELECT 1 FROM txn)
        ), ready AS (
            SELECT count(*) = {count} AS ok FROM found WHERE currency = :currency
        ), moved AS (
            INSERT INTO account_slot (account_id, slot, cents)
            SELECT found.id, txn.id % {SLOTS}, CASE found.code {change} END
            FROM txn, found, ready WHERE ready.ok ORDER BY found.id
            ON CONFLICT (account_id, slot) DO UPDATE
            SET cents = account_slot.cents + excluded.cents
            RETURNING account_slot.account_id AS id
        ), posted AS (
            INSERT INTO posting (txn_id, account_id, amount_cents)
            SELECT txn.id, found.id, CASE found.code {change} END
            FROM txn, found, ready WHERE ready.ok ORDER BY found.id
            RETURNING id
        )
        SELECT (SELECT id FROM txn) AS txn_id, (SELECT ok FROM ready) AS ok,
               (SELECT array_agg(id) FROM moved) AS moved, (SELECT count(*) FROM posted) AS posted
        """
        )
    )


def book(
    conn: Connection,
    txn: dict[str, object],
    changes: dict[str, int],
    currency: str,
) -> tuple[int | None, bool, list[int]]:
    """(transaction id, done, the accounts changed). No id: the key was booked before and
    nothing was written. An id but not done: only the transaction row was written and the
    caller books its postings the general way."""
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
    row = _statement(len(codes)).row(conn, params)
    assert row is not None, "the booking's statement returns one row"
    if row["txn_id"] is None or not row["ok"]:
        return row["txn_id"], False, []
    moved = list(row["moved"] or [])
    assert len(moved) == row["posted"] == len(codes), "a booking wrote only part of itself"
    return row["txn_id"], True, moved
