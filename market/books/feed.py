"""The public transactions feed: every movement of the co-op's money, itemised and anonymous.

A row is built from a whitelist (the transaction's number, day, month, kind, and its moves
between accounts by name), never from the stored key or memo: those name Stripe invoices
(which name the member who paid), bank references and deal titles. So no id that leads to a
member can reach the public, whatever a future booking writes in its memo.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from market import csvsafe
from market.books.names import account_names
from market.errors import DomainError
from market.ledger.models import Account, LedgerTransaction, Posting
from market.money import Money

KINDS = {
    "dues": "Dues paid",
    "allocation": "Round split",
    "carry": "Pool carried over",
    "deal": "Deal bought",
    "payout": "Payout",
}
PER_PAGE = 50


@dataclass(frozen=True)
class Move:
    """Money from one account to another, by name."""

    source: str
    destination: str
    cents: int


@dataclass(frozen=True)
class FeedRow:
    """One transaction as the public sees it."""

    number: int  # the transaction's sequence number: names nobody
    day: date
    month: str  # the month the money is for
    kind: str
    moves: list[Move]
    currency: str

    @property
    def cents(self) -> int:
        """The money the transaction moved."""
        return sum(m.cents for m in self.moves)


@dataclass(frozen=True)
class FeedPage:
    """One page of the feed, newest first."""

    rows: list[FeedRow]
    page: int
    pages: int
    total: int
    month: str
    months: list[str]


def check_month(month: str) -> str:
    """'' or a well-formed 'YYYY-MM'; anything else is refused with the reason."""
    if not month:
        return ""
    y, dash, m = month.partition("-")
    if not (dash and len(y) == 4 and y.isdigit() and len(m) == 2 and m.isdigit()):
        raise DomainError("A month is written YYYY-MM.")
    if not 1 <= int(m) <= 12:
        raise DomainError("A month is written YYYY-MM.")
    return month


Head = tuple[int, datetime, str, str]  # a transaction's id, moment, period and kind


def _heads(session: Session, query: Select[int, datetime, str, str]) -> list[Head]:
    return [(int(i), at, str(p), str(k)) for i, at, p, k in session.execute(query)]


def _query(month: str) -> Select[int, datetime, str, str]:
    query = select(
        LedgerTransaction.id,
        LedgerTransaction.occurred_at,
        LedgerTransaction.period,
        LedgerTransaction.kind,
    )
    return query.where(LedgerTransaction.period == month) if month else query


def feed_page(
    session: Session, page: int = 1, month: str = "", per_page: int = PER_PAGE
) -> FeedPage:
    """One page of transactions, newest first; five statements whatever the page."""
    month = check_month(month)
    count = select(func.count(LedgerTransaction.id))
    if month:
        count = count.where(LedgerTransaction.period == month)
    total = session.scalar(count) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    heads = _heads(
        session,
        _query(month)
        .order_by(LedgerTransaction.occurred_at.desc(), LedgerTransaction.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page),
    )
    months = list(
        session.scalars(
            select(LedgerTransaction.period).distinct().order_by(LedgerTransaction.period.desc())
        )
    )
    return FeedPage(_rows(session, heads), page, pages, total, month, months)


def feed_after(
    session: Session,
    month: str = "",
    after: tuple[datetime, int] | None = None,
    limit: int = PER_PAGE,
) -> tuple[list[FeedRow], tuple[datetime, int] | None]:
    """Transactions newest first, strictly after the (moment, id) of the last one seen, and
    the key to pass for the next page (None on the last). Keyset paging for the API: a
    transaction booked while a client pages does not shift its pages."""
    month = check_month(month)
    query = _query(month)
    if after is not None:
        at, txn_id = after
        query = query.where(
            or_(
                LedgerTransaction.occurred_at < at,
                and_(LedgerTransaction.occurred_at == at, LedgerTransaction.id < txn_id),
            )
        )
    order = (LedgerTransaction.occurred_at.desc(), LedgerTransaction.id.desc())
    heads = _heads(session, query.order_by(*order).limit(limit + 1))
    more, heads = len(heads) > limit, heads[:limit]
    last = (heads[-1][1], heads[-1][0]) if more and heads else None
    return _rows(session, heads), last


def _rows(session: Session, heads: list[Head]) -> list[FeedRow]:
    """The moves of these transactions, each account by name (three statements)."""
    if not heads:
        return []
    postings = session.execute(
        select(Posting.txn_id, Account.code, Account.currency, Posting.amount_cents)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.txn_id.in_([h[0] for h in heads]))
        .order_by(Posting.txn_id, Posting.id)
    ).all()
    by_txn: dict[int, list[tuple[str, int]]] = defaultdict(list)
    currency: dict[int, str] = {}
    for txn_id, code, cur, cents in postings:
        by_txn[txn_id].append((code, int(cents)))
        currency[txn_id] = cur
    names = account_names(session, {code for _, code, _, _ in postings})
    return [
        FeedRow(
            number=txn_id,
            day=occurred.date(),
            month=period,
            kind=KINDS.get(kind, kind.replace("_", " ").capitalize()),
            moves=pair_moves(by_txn[txn_id], names),
            currency=currency.get(txn_id, ""),
        )
        for txn_id, occurred, period, kind in heads
    ]


def pair_moves(postings: list[tuple[str, int]], names: dict[str, str]) -> list[Move]:
    """A balanced set of postings as moves from the accounts money left to those it reached."""
    out = [(code, -cents) for code, cents in postings if cents < 0]
    into = [(code, cents) for code, cents in postings if cents > 0]
    left = [c for _, c in out]
    right = [c for _, c in into]
    moves: list[Move] = []
    i = j = 0
    while i < len(out) and j < len(into):
        cents = min(left[i], right[j])
        moves.append(Move(names[out[i][0]], names[into[j][0]], cents))
        left[i] -= cents
        right[j] -= cents
        i += left[i] == 0
        j += right[j] == 0
    return moves


CSV_HEADER = ["number", "month", "day", "kind", "from", "to", "amount", "currency"]


def csv_lines(session: Session, month: str = "", batch: int = 1000) -> Iterator[str]:
    """The whole feed (or one month) as CSV, one line per move, oldest first, in batches."""
    month = check_month(month)
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(CSV_HEADER)
    last = 0
    while True:
        heads = _heads(
            session,
            _query(month)
            .where(LedgerTransaction.id > last)
            .order_by(LedgerTransaction.id)
            .limit(batch),
        )
        for row in _rows(session, heads):
            for move in row.moves:
                amount: Decimal = Money(move.cents, row.currency).decimal()
                writer.writerow(
                    [
                        row.number,
                        row.month,
                        row.day.isoformat(),
                        row.kind,
                        move.source,
                        move.destination,
                        amount,
                        row.currency.upper(),
                    ]
                )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(heads) < batch:
            return
        last = heads[-1][0]
