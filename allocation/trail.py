"""Where a member's dues went: each paid invoice, as the books split it, through its month's round.

Everything is read from what was booked and published (the ledger transaction keyed
`invoice:<id>`, the round's results, the deals and payouts); nothing is recomputed from the
fee settings. The page costs a fixed number of statements however long the member's history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, func, literal, select
from sqlalchemy.orm import Session

from allocation.models import Ballot, Payout, Round, RoundResult, RoundStatus
from allocation.rounds import end_of_month
from catalog.models import Channel
from market.billing.models import DuesInvoice
from market.ledger.models import Account, LedgerTransaction, Posting
from market.ledger.services import RESERVE, channel_code
from market.money import largest_remainder


@dataclass(frozen=True)
class Payment:
    """One paid invoice and how the books split it."""

    invoice_id: str
    paid_at: datetime | None
    amount_cents: int
    pool_cents: int
    reserve_cents: int


@dataclass(frozen=True)
class ChannelPart:
    """A channel's part of the member's pool money in one month."""

    channel_id: int
    name: str
    cents: int


@dataclass(frozen=True)
class RoundLine:
    """What the page says of a month's round (read as columns: no ORM object a month)."""

    id: int
    period: str
    status: str
    closes_at: datetime
    ballots_counted: int | None


@dataclass
class MonthTrail:
    """A month the member paid: the payments, the round and each channel's part."""

    month: str
    currency: str
    payments: list[Payment] = field(default_factory=list)
    round: RoundLine | None = None
    closes_at: datetime | None = None
    parts: list[ChannelPart] = field(default_factory=list)
    vote: str = "none"  # "voted", "abstained" or "none"

    @property
    def paid_cents(self) -> int:
        """What the member paid for this month."""
        return sum(p.amount_cents for p in self.payments)

    @property
    def pool_cents(self) -> int:
        """The member's part of this month's pool."""
        return sum(p.pool_cents for p in self.payments)

    @property
    def reserve_cents(self) -> int:
        """The member's part of the operations reserve from this month."""
        return sum(p.reserve_cents for p in self.payments)

    @property
    def published(self) -> bool:
        """Whether this month's round has been counted and booked."""
        return self.round is not None and self.round.status == RoundStatus.PUBLISHED


@dataclass(frozen=True)
class ChannelUse:
    """What a channel the member's money reached did with its budget."""

    channel_id: int
    name: str
    from_member_cents: int
    deals: list[tuple[int, str, int]]  # (deal id, title, cents)
    paid_out_cents: int


@dataclass(frozen=True)
class Trail:
    """A member's whole history, newest month first, with totals since joining."""

    months: list[MonthTrail]
    channels: list[ChannelUse]
    paid_cents: int
    pool_cents: int
    reserve_cents: int
    allocated_cents: int
    currency: str


def _payments(session: Session, member_id: int) -> dict[str, MonthTrail]:
    """The member's paid invoices with the positive postings of their booked transaction."""
    rows = session.execute(
        select(
            DuesInvoice.id,
            DuesInvoice.month,
            DuesInvoice.paid_at,
            DuesInvoice.amount_cents,
            DuesInvoice.currency,
            Account.code,
            Account.kind,
            Posting.amount_cents,
        )
        .join(LedgerTransaction, LedgerTransaction.key == literal("invoice:") + DuesInvoice.id)
        .join(Posting, Posting.txn_id == LedgerTransaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            DuesInvoice.member_id == member_id,
            DuesInvoice.status == "paid",
            Posting.amount_cents > 0,
        )
        .order_by(DuesInvoice.month.desc(), DuesInvoice.paid_at, DuesInvoice.id)
    ).all()
    splits: dict[str, dict[str, int]] = defaultdict(lambda: {"pool": 0, "reserve": 0})
    meta: dict[str, tuple[str, datetime | None, int, str]] = {}
    for inv_id, month, paid_at, amount, currency, code, kind, cents in rows:
        meta[inv_id] = (month, paid_at, amount, currency)
        slot = "reserve" if code == RESERVE else "pool" if kind == "pool" else None
        if slot:
            splits[inv_id][slot] += cents
    months: dict[str, MonthTrail] = {}
    for inv_id, (month, paid_at, amount, currency) in meta.items():
        trail = months.setdefault(month, MonthTrail(month=month, currency=currency))
        s = splits[inv_id]
        trail.payments.append(Payment(inv_id, paid_at, amount, s["pool"], s["reserve"]))
    return months


def _paid_months(member_id: int) -> Select[str]:
    """The months the member paid, as a subquery: the same SQL whatever the history."""
    paid = DuesInvoice.member_id == member_id, DuesInvoice.status == "paid"
    return select(DuesInvoice.month).where(*paid)


def _attach_rounds(session: Session, member_id: int, months: dict[str, MonthTrail]) -> None:
    """Each month's round with the member's ballot in it, then the published results."""
    mine = and_(Ballot.round_id == Round.id, Ballot.member_id == member_id, Ballot.is_current)
    rows = session.execute(
        select(
            Round.id,
            Round.period,
            Round.status,
            Round.closes_at,
            Round.ballots_counted,
            Ballot.abstain,
        )
        .outerjoin(Ballot, mine)
        .where(Round.period.in_(_paid_months(member_id)))
    ).all()
    by_id: dict[int, MonthTrail] = {}
    published = False
    for round_id, period, status, closes_at, counted, abstain in rows:
        trail = months.get(period)
        if trail is None:  # a paid invoice the books do not show (the books check says so)
            continue
        trail.round = RoundLine(round_id, period, status, closes_at, counted)
        by_id[round_id] = trail
        if abstain is not None:
            trail.vote = "abstained" if abstain else "voted"
        published = published or status == RoundStatus.PUBLISHED
    for trail in months.values():
        trail.closes_at = trail.round.closes_at if trail.round else end_of_month(trail.month)
    if not published:
        return
    results = session.execute(
        select(RoundResult.round_id, RoundResult.channel_id, RoundResult.cents, Channel.name)
        .join(Channel, Channel.id == RoundResult.channel_id)
        .join(Round, Round.id == RoundResult.round_id)
        .where(Round.period.in_(_paid_months(member_id)), Round.status == RoundStatus.PUBLISHED)
        .order_by(RoundResult.round_id, RoundResult.channel_id)
    ).all()
    grouped: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for round_id, channel_id, cents, name in results:
        grouped[round_id].append((channel_id, cents, name))
    for round_id, channel_rows in grouped.items():
        trail = by_id.get(round_id)
        if trail is None:
            continue
        trail.parts = _parts(trail.pool_cents, channel_rows)


def _parts(pool_cents: int, rows: list[tuple[int, int, str]]) -> list[ChannelPart]:
    """The member's pool money by the published cents, largest remainder (sums exactly)."""
    weights = [cents for _, cents, _ in rows]
    if sum(weights) <= 0:
        return []
    split = largest_remainder(pool_cents, weights)
    parts = [ChannelPart(cid, name, c) for (cid, _, name), c in zip(rows, split, strict=True)]
    return sorted(parts, key=lambda p: (-p.cents, p.channel_id))


def _channel_uses(session: Session, months: list[MonthTrail]) -> list[ChannelUse]:
    """Per channel the member's money reached: its deals and what was paid out to it."""
    reached: dict[int, tuple[str, int]] = {}
    for trail in months:
        for part in trail.parts:
            name, cents = reached.get(part.channel_id, (part.name, 0))
            reached[part.channel_id] = (name, cents + part.cents)
    if not reached:
        return []
    codes = {channel_code(cid): cid for cid in reached}
    # A settled deal is booked channel -> vendor keyed "deal:<id>:settle": read the books.
    deals = session.execute(
        select(Account.code, LedgerTransaction.key, LedgerTransaction.memo, Posting.amount_cents)
        .join(Posting, Posting.account_id == Account.id)
        .join(LedgerTransaction, LedgerTransaction.id == Posting.txn_id)
        .where(Account.code.in_(list(codes)), LedgerTransaction.kind == "deal")
        .where(Posting.amount_cents < 0)
        .order_by(LedgerTransaction.occurred_at, LedgerTransaction.id)
    ).all()
    paid = dict(
        session.execute(
            select(Payout.channel_id, func.sum(Payout.cents))
            .where(Payout.channel_id.in_(list(reached)))
            .group_by(Payout.channel_id)
        ).all()
    )
    by_channel: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for code, key, memo, cents in deals:
        deal_id = key.split(":")[1]
        by_channel[codes[code]].append((int(deal_id) if deal_id.isdigit() else 0, memo, -cents))
    return [
        ChannelUse(cid, name, cents, by_channel[cid], int(paid.get(cid) or 0))
        for cid, (name, cents) in sorted(reached.items(), key=lambda kv: (-kv[1][1], kv[0]))
    ]


def member_trail(session: Session, member_id: int, currency: str) -> Trail:
    """Every month the member paid, newest first, followed through to the channels."""
    by_month = _payments(session, member_id)
    if by_month:
        _attach_rounds(session, member_id, by_month)
    months = sorted(by_month.values(), key=lambda t: t.month, reverse=True)
    return Trail(
        months=months,
        channels=_channel_uses(session, months),
        paid_cents=sum(t.paid_cents for t in months),
        pool_cents=sum(t.pool_cents for t in months),
        reserve_cents=sum(t.reserve_cents for t in months),
        allocated_cents=sum(p.cents for t in months for p in t.parts),
        currency=months[0].currency if months else currency,
    )
