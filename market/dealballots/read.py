"""What the results page shows: each deal's approvals, cost, outcome and why."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from catalog.models import Channel
from market.dealballots.models import DealBallot, DealBallotCandidate
from market.dealballots.services import candidates_of


@dataclass(frozen=True)
class Results:
    """A published ballot: its channel, candidates (funded first) and the greedy baseline."""

    ballot: DealBallot
    channel: str
    rows: list[DealBallotCandidate]
    greedy_spent: int
    left_cents: int


def results_view(session: Session, ballot: DealBallot) -> Results:
    """The published outcome of a ballot, funded deals first, then by approvals."""
    rows = candidates_of(session, ballot.id)
    rows.sort(key=lambda c: (not c.funded, -(c.approvals or 0), c.deal_id))
    channel = session.get(Channel, ballot.channel_id)
    greedy = sum(c.cost_cents for c in rows if c.greedy_funded)
    left = (ballot.budget_used_cents or 0) - (ballot.spent_cents or 0)
    return Results(ballot, channel.name if channel else "", rows, greedy, left)
