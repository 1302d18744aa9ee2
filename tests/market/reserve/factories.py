"""Factories for the acquisition reserve's tests, built through the services."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from catalog.models import Channel, Vendor
from market.clock import period_of, utcnow
from market.ledger.services import ACQUISITION, CLEARING, Move, pool_code, post
from market.members.models import Member
from market.proposals.models import Proposal
from market.proposals.services import take_position
from market.reserve import services, spending
from market.reserve.models import ReserveSpend
from tests.market.factories import make_member

_seq = itertools.count(1)
QUORUM_BP = 2000


def make_reserve(
    session: Session, admin: Member | None = None, cents: int = 0, target: int = 100_000
) -> Channel:
    """The reserve on the ballot with a target, holding `cents` voted into it by a round."""
    admin = admin or make_member(session, admin=True)
    channel = services.set_up(session, admin)
    services.set_target(session, admin, target, "a platform of our own", "usd")
    if cents:
        fund_reserve(session, cents)
    return channel


def fund_reserve(session: Session, cents: int) -> None:
    """Dues into this month's pool, then the pool's reserve part as a published round books it."""
    n = next(_seq)
    pool = pool_code(period_of(utcnow()))
    post(
        session, f"test:dues:reserve:{n}", "dues", "test dues", [Move(CLEARING, pool, cents)], "usd"
    )
    post(
        session,
        f"test:round:reserve:{n}",
        "allocation",
        "test round: the reserve's part",
        [Move(pool, ACQUISITION, cents)],
        "usd",
    )


def propose(
    session: Session,
    vendor: Vendor | int,
    cents: int,
    author: Member | None = None,
    quorum_bp: int = QUORUM_BP,
) -> ReserveSpend:
    """A spending decision open for a week."""
    data = spending.SpendInput(
        vendor_id=vendor if isinstance(vendor, int) else vendor.id,
        amount_cents=cents,
        title="Pay the vendor from the reserve",
        reason="To buy the platform.",
        closes_at=utcnow() + timedelta(days=7),
    )
    return spending.propose_spend(
        session, author or make_member(session), data, quorum_bp=quorum_bp, currency="usd"
    )


def decide(session: Session, spend: ReserveSpend, stances: list[str]) -> Proposal:
    """New members take these positions, then the decision closes."""
    proposal = session.get(Proposal, spend.proposal_id)
    assert proposal is not None
    for stance in stances:
        take_position(session, make_member(session), proposal, stance, "because")
    session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id)
        .values(closes_at=utcnow() - timedelta(seconds=1))
    )
    session.flush()
    session.refresh(proposal)
    return proposal
