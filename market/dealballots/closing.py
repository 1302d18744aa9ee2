"""Closing a deal ballot: Equal Shares chooses, funded deals settle, the outcome is published.

One transaction. The close first flips the ballot from open to published with a conditional
UPDATE: a second close (the job and an admin at once) matches nothing and stops; a vote holds
the ballot row FOR SHARE, so the flip waits for a vote in flight, and a vote after the flip
reads the published row and is refused. Funded deals settle through the deal path
(`settle_deal`, which books channel -> vendor under the key `deal:<id>:settle`); unfunded
deals are withdrawn with a note saying why, in their history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from allocation.deal_recount import Outcome, choose
from market.dealballots.audit import counted_rows, header, increment_of, write_audit
from market.dealballots.models import DealBallot, DealBallotCandidate, DealBallotVote
from market.dealballots.services import available_cents, candidates_of
from market.deals.models import Deal, DealEvent
from market.deals.settle_many import settle_chosen
from market.deals.states import Actor, Status, check_move
from market.errors import Conflict, NotFound
from market.members.models import Member, good_standing
from market.money import Money
from market.notifications.services import notify_many


@dataclass
class BallotReport:
    """What a close did, and where the time went (seconds per step)."""

    ballot_id: int
    status: str = ""
    ballots: int = 0
    funded: list[int] = field(default_factory=list)
    audit_head: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def due_ballots(session: Session, now: datetime) -> list[int]:
    """Open ballots whose closing time has come."""
    return list(
        session.scalars(
            select(DealBallot.id)
            .where(DealBallot.status == "open", DealBallot.closes_at <= now)
            .order_by(DealBallot.id)
        )
    )


def _flip(session: Session, ballot_id: int, now: datetime, early: bool) -> DealBallot | None:
    ballot = session.get(DealBallot, ballot_id)
    if ballot is None:
        raise NotFound("No such deal ballot.")
    if not early and ballot.closes_at > now:
        raise Conflict("This deal ballot is still open; it closes at its closing time.")
    result = session.execute(
        update(DealBallot)
        .where(DealBallot.id == ballot_id, DealBallot.status == "open")
        .values(status="published", closed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(ballot)
    return ballot if result.rowcount == 1 else None  # type: ignore[attr-defined]


def _strike_lapsed(session: Session, ballot: DealBallot, now: datetime) -> None:
    # Approvals count only from members in good standing at the close; the rest are
    # struck before the count, so the published votes never change afterwards.
    standing = select(Member.id).where(good_standing(now))
    session.execute(
        delete(DealBallotVote)
        .where(DealBallotVote.ballot_id == ballot.id, DealBallotVote.member_id.not_in(standing))
        .execution_options(synchronize_session=False)
    )


def _reasons(
    cand: DealBallotCandidate, outcome: Outcome, budget: int, spent: int, currency: str
) -> str:
    fmt = _formatter(currency)

    did = str(cand.deal_id)
    greedy = " Greedy (most approvals first) would " + (
        "also have funded it." if did in outcome.greedy else "not have funded it."
    )
    n = outcome.approvals.get(did, 0)
    if did in outcome.funded:
        return (
            f"Funded: {n} member(s) approved it and Equal Shares bought it for "
            f"{fmt(cand.cost_cents)} from the budget of {fmt(budget)}.{greedy}"
        )
    if n == 0:
        return f"Not funded: nobody approved it.{greedy}"
    if cand.cost_cents > budget:
        return f"Not funded: it costs more than the whole budget ({fmt(budget)}).{greedy}"
    return (
        f"Not funded: its {n} approver(s)' equal shares could not pay its cost after the "
        f"deals they and others preferred, and the {fmt(budget - spent)} left over is less "
        f"than its {fmt(cand.cost_cents)}.{greedy}"
    )


@lru_cache(maxsize=8)
def _formatter(currency: str) -> Callable[[int], str]:
    @lru_cache(maxsize=4096)
    def fmt(cents: int) -> str:
        return Money(cents, currency).format()

    return fmt


def _withdraw(session: Session, ballot: DealBallot, ids: list[int], now: datetime) -> None:
    """Withdraw the deals the ballot did not fund (one UPDATE, one INSERT of history)."""
    if not ids:
        return
    check_move(Status.ACCEPTED, Status.WITHDRAWN, Actor.SYSTEM)
    moved = session.scalars(
        update(Deal)
        .where(Deal.id.in_(ids), Deal.status == Status.ACCEPTED, Deal.settled_at.is_(None))
        .values(status=Status.WITHDRAWN, updated_at=now)
        .returning(Deal.id)
        .execution_options(synchronize_session=False)
    ).all()
    note = f"Not funded by the members on deal ballot #{ballot.id} ({ballot.title})."
    if moved:
        session.execute(
            insert(DealEvent),
            [
                dict(
                    deal_id=d,
                    from_status=Status.ACCEPTED.value,
                    to_status=Status.WITHDRAWN.value,
                    actor=Actor.SYSTEM.value,
                    note=note,
                    created_at=now,
                )
                for d in moved
            ],
        )


def close_ballot(
    session: Session,
    ballot_id: int,
    *,
    currency: str,
    now: datetime,
    early: bool = False,
) -> BallotReport:
    """Close, count, settle and publish a ballot (once; a second close does nothing)."""
    report = BallotReport(ballot_id)
    clock = time.perf_counter
    t0 = clock()
    ballot = _flip(session, ballot_id, now, early)
    if ballot is None:
        report.status = "already"
        return report
    _strike_lapsed(session, ballot, now)
    candidates = candidates_of(session, ballot.id)
    deals = {
        d.id: d
        for d in session.scalars(select(Deal).where(Deal.id.in_([c.deal_id for c in candidates])))
    }
    live = [
        c
        for c in candidates
        if deals[c.deal_id].status == Status.ACCEPTED and deals[c.deal_id].settled_at is None
    ]
    for c in candidates:
        if c not in live:
            c.reason = f"Not in the count: the deal was {deals[c.deal_id].status} before the close."
            c.funded = c.greedy_funded = False
    openers = {d.id: d.created_by for d in deals.values()}  # read before settling expires them
    budget = max(0, min(ballot.budget_cents, available_cents(session, ballot.channel_id)))
    ballot.budget_used_cents = budget
    rows, ballots = counted_rows(session, ballot, {c.deal_id for c in candidates if c not in live})
    report.timings["read"] = clock() - t0
    t1 = clock()
    increment = increment_of(ballot.currency)
    outcome = choose(
        ballots,
        {str(c.deal_id): c.cost_cents for c in live},
        budget,
        increment,
    )
    report.timings["rule"] = clock() - t1
    t2 = clock()
    funded = {int(d) for d in outcome.funded}
    spent = sum(c.cost_cents for c in live if c.deal_id in funded)
    for c in live:
        c.approvals = outcome.approvals.get(str(c.deal_id), 0)
        c.funded = c.deal_id in funded
        c.greedy_funded = str(c.deal_id) in outcome.greedy
        c.reason = _reasons(c, outcome, budget, spent, ballot.currency)
    settle_chosen(
        session,
        sorted(funded),
        currency=currency,
        now=now,
        why=f"Chosen by the members on deal ballot #{ballot.id}.",
    )
    _withdraw(session, ballot, sorted(c.deal_id for c in live if c.deal_id not in funded), now)
    _tell_openers(session, ballot, live, openers)
    ballot.spent_cents = spent
    ballot.ballots_counted = len(rows)
    ballot.approvals_counted = sum(outcome.approvals.values())
    report.timings["book"] = clock() - t2
    t3 = clock()
    lines = header(ballot, candidates, increment, len(rows))
    ballot.audit_head = write_audit(session, lines, rows, ballot)
    session.flush()
    report.timings["audit"] = clock() - t3
    report.status, report.ballots = "published", len(rows)
    report.funded, report.audit_head = sorted(funded), ballot.audit_head
    return report


def _tell_openers(
    session: Session, ballot: DealBallot, live: list[DealBallotCandidate], openers: dict[int, int]
) -> None:
    """Tell each admin who opened a deal on the ballot whether the members funded it."""
    by_opener: dict[int, list[str]] = {}
    for c in live:
        word = "funded" if c.funded else "not funded"
        by_opener.setdefault(openers[c.deal_id], []).append(f"#{c.deal_id} {c.title}: {word}")
    for opener_id, lines in by_opener.items():
        opener = session.get(Member, opener_id)
        if opener is None:
            continue
        notify_many(
            session,
            [opener],
            "deal_ballot_published",
            f"Deal ballot published: {ballot.title}",
            "The members' deal ballot chose which deals the co-op buys. " + "; ".join(lines) + ".",
            f"/deal-ballots/{ballot.id}",
        )
