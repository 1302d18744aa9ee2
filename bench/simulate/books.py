"""What the simulation checks (daily and at the end) and the month-by-month table it prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation.models import Payout, Round, RoundResult, RoundStatus
from allocation.trail import member_trail
from catalog.claims import lapsed_condition
from catalog.models import Claim
from market.billing.models import DuesInvoice
from market.clock import month_end, period_of
from market.deals.models import Deal
from market.ledger.models import Account, LedgerTransaction, Posting
from market.ledger.services import RESERVE, balance, pool_code
from market.members.models import Member


def lapsed_holders(session: Session, now: datetime) -> list[str]:
    """Members past grace (or lapsed, cancelled) who still hold a licence."""
    rows = session.execute(
        select(Claim.member_id, Member.status)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.released_at.is_(None), lapsed_condition(now))  # type: ignore[arg-type]
        .limit(5)
    ).all()
    return [f"member {m} ({status}) still holds a licence" for m, status in rows]


def reconcile(session: Session, now: datetime, currency: str) -> list[str]:
    """The end-of-run checks; each problem as a sentence."""
    problems: list[str] = []
    # 1. Every cent of dues is in a pool or the reserve.
    paid = session.scalar(
        select(func.coalesce(func.sum(DuesInvoice.amount_cents), 0)).where(
            DuesInvoice.status == "paid"
        )
    )
    landed = session.scalar(
        select(func.coalesce(func.sum(Posting.amount_cents), 0))
        .join(LedgerTransaction, LedgerTransaction.id == Posting.txn_id)
        .join(Account, Account.id == Posting.account_id)
        .where(
            LedgerTransaction.kind == "dues",
            Posting.amount_cents > 0,
            (Account.kind == "pool") | (Account.code == RESERVE),
        )
    )
    if paid != landed:
        problems.append(f"dues paid {paid} cents but {landed} cents reached pools and the reserve")
    # 2. Every closed month's pool is allocated to the cent (or carried over, when no ballot).
    for rnd in session.scalars(select(Round).where(Round.status == RoundStatus.PUBLISHED)):
        left = balance(session, pool_code(rnd.period))
        if left != 0:
            problems.append(f"the {rnd.period} pool holds {left} cents after its round published")
        results = session.scalars(select(RoundResult).where(RoundResult.round_id == rnd.id)).all()
        if results and sum(r.cents for r in results) != (rnd.pool_cents or 0):
            problems.append(f"round {rnd.period} allocated {sum(r.cents for r in results)} "
                            f"of a {rnd.pool_cents} cent pool")  # fmt: skip
    # 3. Each member's "where my dues went" sums to what they paid.
    paid_by = dict(
        session.execute(
            select(DuesInvoice.member_id, func.sum(DuesInvoice.amount_cents))
            .where(DuesInvoice.status == "paid")
            .group_by(DuesInvoice.member_id)
        ).all()
    )
    for member_id, cents in paid_by.items():
        trail = member_trail(session, member_id, currency)
        if trail.paid_cents != cents or trail.pool_cents + trail.reserve_cents != cents:
            problems.append(
                f"member {member_id} paid {cents} cents; their trail shows {trail.paid_cents} "
                f"({trail.pool_cents} pool + {trail.reserve_cents} reserve)"
            )
        for month in trail.months:
            if month.parts and sum(p.cents for p in month.parts) != month.pool_cents:
                problems.append(f"member {member_id}'s {month.month} parts do not sum to the pool")
    # 4. No lapsed member past grace holds a licence.
    problems += lapsed_holders(session, now)
    return problems


@dataclass
class MonthRow:
    period: str
    statuses: Counter[str]
    dues: int
    pool: int
    allocated: int
    paid_out: int
    tipped: int
    claims: int


def statuses(session: Session) -> Counter[str]:
    """Members (admins aside) by status, now."""
    rows = session.execute(
        select(Member.status, func.count()).where(~Member.is_admin).group_by(Member.status)
    ).all()
    return Counter(dict(rows))


def month_row(session: Session, period: str, at_end: Counter[str]) -> MonthRow:
    """The figures of one month, read from the books and the tables; statuses at its end."""
    end = month_end(period)
    dues = session.scalar(
        select(func.coalesce(func.sum(DuesInvoice.amount_cents), 0)).where(
            DuesInvoice.status == "paid", DuesInvoice.month == period
        )
    )
    rnd = session.scalar(select(Round).where(Round.period == period))
    allocated = 0
    if rnd is not None:
        allocated = (
            session.scalar(
                select(func.coalesce(func.sum(RoundResult.cents), 0)).where(
                    RoundResult.round_id == rnd.id
                )
            )
            or 0
        )
    pool = rnd.pool_cents if rnd is not None and rnd.pool_cents is not None else 0
    paid_out = sum(
        p.cents
        for p in session.scalars(select(Payout))
        if p.paid_on is not None and period_of_date(p.paid_on) == period
    )
    tipped = sum(
        1
        for d in session.scalars(select(Deal).where(Deal.settled_at.is_not(None)))
        if d.settled_at is not None and period_of(d.settled_at) == period and d.seats_bought
    )
    claims = session.scalar(
        select(func.count())
        .select_from(Claim)
        .where(Claim.claimed_at < end, Claim.claimed_at >= month_end(_prev(period)))
    )
    return MonthRow(period, at_end, dues or 0, pool, allocated or 0, paid_out, tipped, claims or 0)


def _prev(period: str) -> str:
    from market.clock import previous_period

    return previous_period(period)


def period_of_date(day: object) -> str:
    return f"{day:%Y-%m}"


STATUSES = ("active", "past_due", "lapsed", "cancelled", "pending")


def table(rows: list[MonthRow]) -> str:
    """The month-by-month table, figures in dollars (cents after the point)."""
    head = (
        f"{'month':<8}"
        + "".join(f"{s:>10}" for s in STATUSES)
        + f"{'dues':>11}{'pool':>11}{'allocated':>11}{'paid out':>11}{'tipped':>7}{'claims':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.period:<8}"
            + "".join(f"{r.statuses.get(s, 0):>10}" for s in STATUSES)
            + f"{r.dues / 100:>11.2f}{r.pool / 100:>11.2f}{r.allocated / 100:>11.2f}"
            + f"{r.paid_out / 100:>11.2f}{r.tipped:>7}{r.claims:>7}"
        )
    return "\n".join(lines)


__all__ = ["MonthRow", "lapsed_holders", "month_row", "reconcile", "statuses", "table"]


def job_outcomes(session: Session) -> str:
    """How the schedule's runs ended, by job (failures with their last message)."""
    from market.jobs.models import JobRun

    rows = session.execute(
        select(JobRun.job, JobRun.status, func.count()).group_by(JobRun.job, JobRun.status)
    ).all()
    parts = [f"{job} {status} {count}" for job, status, count in sorted(rows)]
    failed = session.scalars(
        select(JobRun.message).where(JobRun.status == "failed").order_by(JobRun.id.desc()).limit(3)
    ).all()
    return "; ".join(parts) + "".join(f"\n  failed: {m[:200]}" for m in failed)
