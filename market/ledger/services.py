"""Booking money. Plain functions taking a session; they flush, never commit.

Account codes and balances live in market.ledger.accounts, the books' self-check in
market.ledger.checks; both are re-exported here for the many callers that import them
from this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    Insert,
    Integer,
    Select,
    String,
    Table,
    Update,
    bindparam,
    case,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from market.clock import period_of
from market.db import utcnow
from market.errors import DomainError
from market.ledger import one_statement
from market.ledger.accounts import (
    ACQUISITION,
    CLEARING,
    PAID_OUT,
    RESERVE,
    balance,
    channel_code,
    describe,
    dialect_insert,
    get_account,
    pool_code,
    vendor_code,
)
from market.ledger.checks import check_books
from market.ledger.models import Account, LedgerTransaction, Posting

__all__ = [
    "ACQUISITION",
    "CLEARING",
    "PAID_OUT",
    "RESERVE",
    "Booking",
    "Move",
    "balance",
    "book",
    "channel_code",
    "check_books",
    "get_account",
    "pool_code",
    "post",
    "post_many",
    "vendor_code",
    "was_booked",
]

# Core tables: the booking path below uses Core statements (no ORM flush, no read-back).
_ACCOUNT = cast(Table, Account.__table__)
_TXN = cast(Table, LedgerTransaction.__table__)
_POSTING = cast(Table, Posting.__table__)


@dataclass(frozen=True)
class Move:
    """Money leaving one account for another."""

    source: str
    destination: str
    cents: int


def post(
    session: Session,
    key: str,
    kind: str,
    memo: str,
    moves: Sequence[Move],
    currency: str,
    occurred_at: datetime | None = None,
    period: str | None = None,
) -> LedgerTransaction | None:
    """Book one transaction made of moves; None (and nothing written) if `key` was booked.

    `period` is the month the money is for ('YYYY-MM'); by default the month it occurred.
    The transaction comes back as an ORM object; `book` books without building one.
    """
    txn_id, row = _book(session, key, kind, memo, moves, currency, occurred_at, period)
    return None if txn_id is None else _attach(session, txn_id, row)


def book(
    session: Session,
    key: str,
    kind: str,
    memo: str,
    moves: Sequence[Move],
    currency: str,
    occurred_at: datetime | None = None,
    period: str | None = None,
) -> int | None:
    """`post`, returning only the new transaction's id (None if `key` was booked)."""
    txn_id, _row = _book(session, key, kind, memo, moves, currency, occurred_at, period)
    if txn_id is not None:  # a stale object with this id (see _attach) is read afresh
        stale = session.identity_map.get(identity_key(LedgerTransaction, txn_id))
        if stale is not None:
            session.expire(stale)
    return txn_id


def _book(
    session: Session,
    key: str,
    kind: str,
    memo: str,
    moves: Sequence[Move],
    currency: str,
    occurred_at: datetime | None,
    period: str | None,
) -> tuple[int | None, dict[str, Any]]:
    """The booking: (the new transaction's id or None, the transaction row's columns).

    Four statements on the usual path (this is the hot path of every paid invoice): the
    transaction row, its accounts locked in id order, the postings, the balances; on
    PostgreSQL one (`market.ledger.one_statement`) once its accounts exist.
    """
    changes = _changes(moves)
    now = utcnow()
    occurred = occurred_at or now
    period = period or period_of(occurred)
    # Core statements on the session's connection: no ORM layer to go through on this path.
    conn = session.connection()
    row = {
        "key": key,
        "kind": kind,
        "memo": memo[:255],
        "occurred_at": occurred,
        "period": period,
        "created_at": now,
    }
    if conn.dialect.name == "postgresql":  # the usual case in one statement, else as below
        txn_id, done, changed = one_statement.book(conn, row, changes, currency.lower())
        if done and txn_id is not None:
            _forget_balances(session, changed)
            return int(txn_id), row
    else:
        txn_id = conn.execute(_txn_insert(conn.dialect.name), row).scalar()
    if txn_id is None:
        return None, row  # booked before: the effect of an event happens once
    ids = _lock_accounts(conn, sorted(changes), currency.lower())
    deltas = sorted((ids[code], cents) for code, cents in changes.items())
    params = {f"a{i}": account_id for i, (account_id, _) in enumerate(deltas)}
    params.update({f"d{i}": cents for i, (_, cents) in enumerate(deltas)})
    conn.execute(_postings_insert(len(deltas)), {"txn_id": txn_id, **params})
    conn.execute(_balance_update(len(deltas)), params)
    _forget_balances(session, [account_id for account_id, _ in deltas])
    return int(txn_id), row


# The statements of post(), built once: building and cache-keying a statement on every
# call cost more CPU than PostgreSQL spends running it. Those for n accounts bind
# account :a<i> and its change :d<i>.


@cache
def _txn_insert(dialect: str) -> Insert:
    """INSERT a transaction unless its key exists, RETURNING its id (None if it did)."""
    stmt = dialect_insert(dialect)(_TXN).on_conflict_do_nothing(index_elements=["key"])
    return stmt.returning(_TXN.c.id)  # type: ignore[no-any-return]


@lru_cache(maxsize=64)
def _postings_insert(count: int) -> Insert:
    """INSERT the postings of transaction :txn_id in one statement.

    INSERT ... SELECT ... UNION ALL rather than a multi-row VALUES, which SQLAlchemy
    compiles afresh on every execution.
    """
    txn_id = bindparam("txn_id", type_=Integer)
    rows = [
        select(txn_id, bindparam(f"a{i}", type_=Integer), bindparam(f"d{i}", type_=BigInteger))
        for i in range(count)
    ]
    source = rows[0] if count == 1 else union_all(*rows)
    return insert(_POSTING).from_select(["txn_id", "account_id", "amount_cents"], source)


@lru_cache(maxsize=64)
def _lock_select(count: int) -> Select[int, str, str]:
    """The accounts with codes :c0 .. :c<count-1>, locked for update in id order."""
    codes = [bindparam(f"c{i}", type_=String) for i in range(count)]
    return (
        select(_ACCOUNT.c.id, _ACCOUNT.c.code, _ACCOUNT.c.currency)
        .where(_ACCOUNT.c.code.in_(codes))
        .order_by(_ACCOUNT.c.id)
        .with_for_update()
    )


@lru_cache(maxsize=64)
def _balance_update(count: int) -> Update:
    """Add :d<i> to the balance of account :a<i>, for `count` accounts, in one statement."""
    ids = [bindparam(f"a{i}", type_=Integer) for i in range(count)]
    # BigInteger, as the column: one posting may exceed a 32-bit integer's cents.
    whens = [(ids[i], bindparam(f"d{i}", type_=BigInteger)) for i in range(count)]
    return (
        update(_ACCOUNT)
        .where(_ACCOUNT.c.id.in_(ids))
        .values(base_cents=_ACCOUNT.c.base_cents + case(*whens, value=_ACCOUNT.c.id))
    )


def _changes(moves: Sequence[Move]) -> dict[str, int]:
    """The net change to each account code; the changes sum to zero."""
    changes: dict[str, int] = {}
    for move in moves:
        if isinstance(move.cents, bool) or not isinstance(move.cents, int):
            raise TypeError("amounts are whole cents")
        if move.cents < 0:
            raise ValueError("a move cannot be negative; swap source and destination")
        changes[move.source] = changes.get(move.source, 0) - move.cents
        changes[move.destination] = changes.get(move.destination, 0) + move.cents
    changes = {code: cents for code, cents in changes.items() if cents}
    if not changes:
        raise ValueError("a transaction must move some money")
    assert sum(changes.values()) == 0
    return changes


def _lock_accounts(conn: Connection, codes: list[str], currency: str) -> dict[str, int]:
    """The ids of these accounts (created on first use), locked for update in id order.

    Every booking locks its accounts in the same (id) order and holds them until commit,
    so concurrent bookings queue instead of deadlocking; balance updates are relative, so
    they add up. On SQLite the write transaction itself (BEGIN IMMEDIATE) is the lock.
    """
    lock = _lock_select(len(codes))
    params = {f"c{i}": code for i, code in enumerate(codes)}
    rows = conn.execute(lock, params).all()
    if len(rows) < len(codes):
        found = {row.code for row in rows}
        now = utcnow()
        new = [
            {
                "code": code,
                "name": describe(code)[0],
                "kind": describe(code)[1],
                "currency": currency,
                "base_cents": 0,
                "created_at": now,
            }
            for code in codes
            if code not in found
        ]
        conn.execute(
            dialect_insert(conn.dialect.name)(_ACCOUNT)
            .values(new)
            .on_conflict_do_nothing(index_elements=["code"])
        )
        rows = conn.execute(lock, params).all()
    for row in rows:
        if row.currency != currency:
            raise DomainError(f"account {row.code} is in {row.currency}, not {currency}")
    return {row.code: row.id for row in rows}


def _forget_balances(session: Session, account_ids: list[int]) -> None:
    """Expire the balance of any loaded Account we just changed behind the ORM's back."""
    for account_id in account_ids:
        account = session.identity_map.get(identity_key(Account, account_id))
        if account is not None:
            session.expire(account, ["base_cents", "balance_cents"])


def _attach(session: Session, txn_id: int, row: dict[str, Any]) -> LedgerTransaction:
    """The transaction just inserted, as an ORM object, without reading it back.

    Its postings load lazily if someone looks at them. A stale object with the same id (a
    rolled-back savepoint's, on SQLite, which reuses ids) is refreshed instead.
    """
    stale = session.identity_map.get(identity_key(LedgerTransaction, txn_id))
    if stale is not None:
        session.refresh(stale)
        return stale  # type: ignore[no-any-return]
    txn = LedgerTransaction(id=txn_id, **row)
    make_transient_to_detached(txn)
    session.add(txn)
    return txn


def was_booked(session: Session, key: str) -> bool:
    """Whether a transaction with this key exists."""
    return (
        session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.key == key)) is not None
    )


@dataclass(frozen=True)
class Booking:
    """One transaction for post_many: its key, kind, memo and moves."""

    key: str
    kind: str
    memo: str
    moves: Sequence[Move]


def post_many(
    session: Session,
    bookings: Sequence[Booking],
    currency: str,
    occurred_at: datetime | None = None,
) -> list[str]:
    """Book many transactions in four statements whatever their number; the keys booked.

    The same rows post() would write, one transaction per booking (a key booked before is
    skipped, as there); the accounts of all of them are locked once, in id order.
    """
    if not bookings:
        return []
    changes = {b.key: _changes(b.moves) for b in bookings}
    if len(changes) != len(bookings):
        raise ValueError("two bookings share a key")
    now = utcnow()
    occurred = occurred_at or now
    conn = session.connection()
    stmt = dialect_insert(conn.dialect.name)(_TXN).on_conflict_do_nothing(index_elements=["key"])
    rows = conn.execute(
        stmt.returning(_TXN.c.id, _TXN.c.key),
        [
            {
                "key": b.key,
                "kind": b.kind,
                "memo": b.memo[:255],
                "occurred_at": occurred,
                "period": period_of(occurred),  # as post(): the month it occurred
                "created_at": now,
            }
            for b in bookings
        ],  # fmt: skip
    ).all()
    booked = {key: txn_id for txn_id, key in rows}
    if not booked:
        return []
    codes = sorted({code for key in booked for code in changes[key]})
    ids = _lock_accounts(conn, codes, currency.lower())
    postings = [
        {"txn_id": txn_id, "account_id": ids[code], "amount_cents": cents}
        for key, txn_id in booked.items()
        for code, cents in changes[key].items()
    ]
    conn.execute(insert(_POSTING), postings)
    totals: dict[int, int] = {}
    for row in postings:
        totals[row["account_id"]] = totals.get(row["account_id"], 0) + row["amount_cents"]
    deltas = sorted(totals.items())
    params = {f"a{i}": account_id for i, (account_id, _) in enumerate(deltas)}
    params.update({f"d{i}": cents for i, (_, cents) in enumerate(deltas)})
    conn.execute(_balance_update(len(deltas)), params)
    _forget_balances(session, [account_id for account_id, _ in deltas])
    return [b.key for b in bookings if b.key in booked]
