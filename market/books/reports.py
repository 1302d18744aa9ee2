"""Read-only views of the books: the public month-by-month summary and the admin ledger.

Each report is a fixed number of queries, however many months or rows there are.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from market import csvsafe
from market.billing.models import DuesInvoice
from market.books.names import account_names
from market.ledger.models import Account, LedgerTransaction, Posting
from market.ledger.services import PAID_OUT, RESERVE
from market.money import Money
from market.reserve.services import Progress
from market.reserve.services import progress as reserve_progress


@dataclass
class MonthRow:
    """One month of the co-op's money, in cents (aggregates only: no names)."""

    month: str
    collected: int = 0
    members_paying: int = 0
    pool: int = 0
    reserve: int = 0
    allocated: int = 0
    paid_out: int = 0

    @property
    def unallocated(self) -> int:
        """What is still in the month's pool."""
        return self.pool - self.allocated


@dataclass
class ChannelRow:
    """One channel's payable: what votes gave it, what its deals spent, what was paid."""

    name: str
    allocated: int = 0
    spent_on_deals: int = 0
    paid_out: int = 0
    owed: int = 0


@dataclass
class Books:
    """The public Books page: months, newest first, totals, and each channel's account."""

    months: list[MonthRow]
    totals: MonthRow = field(default_factory=lambda: MonthRow("total"))
    channels: list[ChannelRow] = field(default_factory=list)
    acquisition: Progress | None = None  # the acquisition reserve against its target


def books(session: Session) -> Books:
    """Per month: dues collected, members paying, pool, reserve, allocated and paid out."""
    pool_acct = aliased(Account)
    pool_post = aliased(Posting)
    rows: dict[str, MonthRow] = {}

    def row(code_or_month: str) -> MonthRow:
        month = code_or_month.removeprefix("pool:")
        return rows.setdefault(month, MonthRow(month))

    # The pool part by its pool account; the reserve part by the month the payment is for
    # (the transaction's period): at a 100 % operations share a fee books nothing to the
    # pool, and its reserve part must still show in its month.
    dues_in = (
        select(LedgerTransaction.period, pool_acct.code, func.sum(pool_post.amount_cents))
        .join(pool_acct, pool_post.account_id == pool_acct.id)
        .join(LedgerTransaction, LedgerTransaction.id == pool_post.txn_id)
        .where(LedgerTransaction.kind == "dues", pool_post.amount_cents > 0)
        .where((pool_acct.kind == "pool") | (pool_acct.code == RESERVE))
        .group_by(LedgerTransaction.period, pool_acct.code)
    )
    for period, code, cents in session.execute(dues_in):
        if code == RESERVE:
            row(period).reserve += int(cents)
        else:
            row(code).pool += int(cents)
    allocated = (
        select(pool_acct.code, func.sum(pool_post.amount_cents))
        .join(pool_acct, pool_post.account_id == pool_acct.id)
        .where(pool_acct.kind == "pool", pool_post.amount_cents < 0)
        .group_by(pool_acct.code)
    )
    for code, cents in session.execute(allocated):
        row(code).allocated = -int(cents)
    paying = (
        select(DuesInvoice.month, func.count(func.distinct(DuesInvoice.member_id)))
        .where(DuesInvoice.status == "paid")
        .group_by(DuesInvoice.month)
    )
    for month, count in session.execute(paying):
        row(month).members_paying = int(count)
    _paid_out(session, row)
    result = _finish(rows)
    result.channels = channel_rows(session)
    result.acquisition = reserve_progress(session)
    return result


def channel_rows(session: Session) -> list[ChannelRow]:
    """Each channel's payable account, split by what moved it (two queries in all)."""
    from catalog.models import Channel

    names = dict(session.execute(select(Channel.id, Channel.name)).all())
    moves = session.execute(
        select(Account.code, LedgerTransaction.kind, func.sum(Posting.amount_cents))
        .join(Account, Account.id == Posting.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == Posting.txn_id)
        .where(Account.kind == "channel")
        .group_by(Account.code, LedgerTransaction.kind)
    ).all()
    rows: dict[str, ChannelRow] = {}
    for code, kind, cents in moves:
        channel_id = int(code.removeprefix("channel:"))
        r = rows.setdefault(code, ChannelRow(names.get(channel_id, "A removed channel")))
        r.owed += int(cents)
        if kind == "deal":
            r.spent_on_deals -= int(cents)
        elif kind == "payout":
            r.paid_out -= int(cents)
        else:  # allocations (and any correction) arrive from the pools
            r.allocated += int(cents)
    return sorted(rows.values(), key=lambda r: r.name)


def _paid_out(session: Session, row) -> None:  # type: ignore[no-untyped-def]
    """Payouts under the month they were made for (often sent early the month after)."""
    query = (
        select(LedgerTransaction.period, func.sum(Posting.amount_cents))
        .join(LedgerTransaction, LedgerTransaction.id == Posting.txn_id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.code == PAID_OUT)
        .group_by(LedgerTransaction.period)
    )
    for m, cents in session.execute(query):
        row(m).paid_out = int(cents)


def _finish(rows: dict[str, MonthRow]) -> Books:
    months = sorted(rows.values(), key=lambda r: r.month, reverse=True)
    totals = MonthRow("total")
    for r in months:
        r.collected = r.pool + r.reserve
        totals.collected += r.collected
        totals.pool += r.pool
        totals.reserve += r.reserve
        totals.allocated += r.allocated
        totals.paid_out += r.paid_out
    return Books(months, totals)


@dataclass(frozen=True)
class LedgerFilter:
    """What the admin asked to see."""

    kind: str = ""
    account: str = ""
    start: date | None = None
    end: date | None = None  # inclusive

    def apply(self, query: Select) -> Select:  # type: ignore[type-arg]
        """Narrow a query over LedgerTransaction to this filter."""
        if self.kind:
            query = query.where(LedgerTransaction.kind == self.kind)
        if self.account:
            query = query.where(
                LedgerTransaction.postings.any(Posting.account.has(Account.code == self.account))
            )
        if self.start:
            query = query.where(
                LedgerTransaction.occurred_at >= datetime.combine(self.start, time(), UTC)
            )
        if self.end and self.end < date.max:  # the last day there is has no day after
            end = datetime.combine(self.end + timedelta(days=1), time(), UTC)
            query = query.where(LedgerTransaction.occurred_at < end)
        return query


def accounts(session: Session) -> list[Account]:
    """Every account with its balance."""
    return list(session.scalars(select(Account).order_by(Account.kind, Account.code)))


def kinds(session: Session) -> list[str]:
    """The kinds of transaction the books hold (for the filter)."""
    return list(session.scalars(select(LedgerTransaction.kind).distinct().order_by("kind")))


def transactions(
    session: Session, flt: LedgerFilter, page: int = 1, per_page: int = 50
) -> tuple[list[LedgerTransaction], int, int]:
    """One page of transactions (newest first) with their postings; (rows, page, pages)."""
    total = session.scalar(flt.apply(select(func.count(LedgerTransaction.id)))) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    query = flt.apply(select(LedgerTransaction)).order_by(
        LedgerTransaction.occurred_at.desc(), LedgerTransaction.id.desc()
    )
    rows = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return rows, page, pages


def transactions_after(
    session: Session,
    flt: LedgerFilter,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[LedgerTransaction]:
    """Transactions newest first, strictly after the key (occurred_at, id) of the last seen.

    Keyset paging: a transaction booked while a client pages does not shift the pages.
    """
    query = flt.apply(select(LedgerTransaction))
    if after is not None:
        at, txn_id = after
        query = query.where(
            or_(
                LedgerTransaction.occurred_at < at,
                and_(LedgerTransaction.occurred_at == at, LedgerTransaction.id < txn_id),
            )
        )
    query = query.order_by(LedgerTransaction.occurred_at.desc(), LedgerTransaction.id.desc())
    return list(session.scalars(query.limit(limit)))


def csv_export(session: Session, flt: LedgerFilter) -> str:
    """Every posting of the filtered transactions as CSV (amounts in major units)."""
    return "".join(csv_blocks(session, flt))


def export_size(session: Session, flt: LedgerFilter) -> int:
    """How many transactions an export of this filter holds."""
    return session.scalar(flt.apply(select(func.count(LedgerTransaction.id)))) or 0


def csv_blocks(session: Session, flt: LedgerFilter, rows: int = 500) -> Iterator[str]:
    """The export as blocks of whole lines, `rows` transactions each (memory stays small)."""
    query = (
        flt.apply(select(LedgerTransaction))
        .order_by(LedgerTransaction.occurred_at, LedgerTransaction.id)
        .execution_options(yield_per=rows)
    )
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(
        [
            "txn_id",
            "occurred_at",
            "period",
            "kind",
            "key",
            "memo",
            "account",
            "account_name",
            "amount",
            "currency",
        ]
    )
    names = account_names(session, session.scalars(select(Account.code)))
    for count, txn in enumerate(session.scalars(query), start=1):
        writer.writerows(_posting_rows(txn, names))
        if count % rows == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def _posting_rows(txn: LedgerTransaction, names: dict[str, str]) -> Iterable[list[object]]:
    for p in txn.postings:
        amount: Decimal = Money(p.amount_cents, p.account.currency).decimal()
        yield [
            str(txn.id),
            txn.occurred_at.isoformat(),
            txn.period,
            txn.kind,
            txn.key,
            txn.memo,
            p.account.code,
            names.get(p.account.code, p.account.name),
            amount,
            p.account.currency,
        ]
