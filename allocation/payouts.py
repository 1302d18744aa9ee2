"""Paying channels what rounds allocated them, and the per-month summary the Books page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from allocation.models import Payout, Round, RoundResult, RoundStatus
from catalog.models import Channel, ChannelKind
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.ledger.models import LedgerTransaction
from market.ledger.services import PAID_OUT, Move, balance, channel_code, post
from market.members.models import Member
from market.money import Money


def owed(session: Session, channel_id: int) -> int:
    """What the co-op still owes a channel (its payable balance), in cents."""
    return balance(session, channel_code(channel_id))


def record_payout(
    session: Session,
    actor: Member,
    channel_id: int,
    cents: int,
    paid_on: date,
    reference: str,
    currency: str = "usd",
    period: str | None = None,
) -> Payout:
    """Record money sent to a channel: never more than it is owed, one payout per reference.

    `period` is the month whose allocation it pays ('YYYY-MM', a published round's); by
    default the latest round published for a month up to the one it was paid in.
    """
    if not actor.is_admin:
        raise Forbidden("Only admins record payouts.")
    period = paid_for(session, paid_on, period)
    reference = reference.strip()
    if not reference or len(reference) > 64:
        raise DomainError("Give the bank reference (up to 64 characters).")
    if cents <= 0:
        raise DomainError("A payout is a positive amount.")
    # Lock the channel so two payouts to it cannot both pass the balance check.
    channel = session.scalar(select(Channel).where(Channel.id == channel_id).with_for_update())
    if channel is None:
        raise NotFound("There is no such channel.")
    if channel.kind != ChannelKind.BUNDLE:
        raise DomainError(
            "The acquisition reserve is never paid out: only a decision of the members spends it."
        )
    if session.scalar(select(Payout.id).where(Payout.reference == reference)) is not None:
        raise Conflict(f"A payout with reference {reference} is already recorded.")
    available = owed(session, channel_id)
    if cents > available:
        raise DomainError(
            f"{channel.name} is owed {Money(available, currency)}; a payout cannot exceed that."
        )
    payout = Payout(
        channel_id=channel_id,
        cents=cents,
        currency=currency,
        paid_on=paid_on,
        reference=reference,
        recorded_by=actor.id,
    )
    session.add(payout)
    session.flush()
    post(
        session,
        f"payout:{reference}",
        "payout",
        f"Payout to {channel.name} for {period} ({reference})",
        [Move(channel_code(channel_id), PAID_OUT, cents)],
        currency,
        occurred_at=None,
        period=period,
    )
    return payout


def published_periods(session: Session) -> list[str]:
    """The months with a published round, newest first (what a payout can be for)."""
    query = select(Round.period).where(Round.status == RoundStatus.PUBLISHED)
    return list(session.scalars(query.order_by(Round.period.desc())))


def paid_for(session: Session, paid_on: date, period: str | None) -> str:
    """The month a payout pays for: the one given (checked) or the latest published by then."""
    paid_month = f"{paid_on.year:04d}-{paid_on.month:02d}"
    published = [p for p in published_periods(session) if p <= paid_month]
    if period is None or period == "":
        return published[0] if published else paid_month
    if period not in published:
        raise DomainError(
            f"A payout pays for a published round's month up to {paid_month}; "
            f"{period[:16]!r} is not one."
        )
    return period


def recent_payouts(session: Session, limit: int = 50) -> list[tuple[Payout, str, str]]:
    """The latest payouts with their channel's name and the month each pays for."""
    rows = session.execute(
        select(Payout, Channel.name, LedgerTransaction.period)
        .join(Channel, Channel.id == Payout.channel_id)
        .join(LedgerTransaction, LedgerTransaction.key == literal("payout:") + Payout.reference)
        .order_by(Payout.paid_on.desc(), Payout.id.desc())
        .limit(limit)
    ).all()
    return [(p, name, period) for p, name, period in rows]


@dataclass(frozen=True)
class ChannelBalance:
    """A channel's allocated, paid and still-owed totals."""

    channel_id: int
    name: str
    allocated_cents: int
    paid_cents: int
    owed_cents: int


def channel_balances(session: Session) -> list[ChannelBalance]:
    """Per channel: everything rounds allocated, everything paid, and what is still owed."""
    allocated = dict(
        session.execute(
            select(RoundResult.channel_id, func.sum(RoundResult.cents))
            .join(Round, Round.id == RoundResult.round_id)
            .where(Round.status == RoundStatus.PUBLISHED)
            .group_by(RoundResult.channel_id)
        ).all()
    )
    paid = dict(
        session.execute(
            select(Payout.channel_id, func.sum(Payout.cents)).group_by(Payout.channel_id)
        ).all()
    )
    return [
        ChannelBalance(
            c.id, c.name, int(allocated.get(c.id, 0)), int(paid.get(c.id, 0)), owed(session, c.id)
        )
        for c in session.scalars(
            select(Channel).where(Channel.kind == ChannelKind.BUNDLE.value).order_by(Channel.name)
        )
    ]


@dataclass(frozen=True)
class MonthAllocation:
    """One published round for the Books page: the pool and where it went."""

    period: str
    round_id: int
    pool_cents: int
    ballots: int
    by_channel: list[tuple[str, int]]


def month_summary(session: Session) -> list[MonthAllocation]:
    """Per published month, newest first: pool and cents allocated to each channel."""
    rounds = session.scalars(
        select(Round).where(Round.status == RoundStatus.PUBLISHED).order_by(Round.period.desc())
    ).all()
    rows = session.execute(
        select(RoundResult.round_id, Channel.name, RoundResult.cents)
        .join(Channel, Channel.id == RoundResult.channel_id)
        .order_by(Channel.name)
    ).all()
    by_round: dict[int, list[tuple[str, int]]] = {}
    for rid, name, cents in rows:
        by_round.setdefault(rid, []).append((name, int(cents)))
    return [
        MonthAllocation(
            r.period, r.id, r.pool_cents or 0, r.ballots_counted or 0, by_round.get(r.id, [])
        )
        for r in rounds
    ]
