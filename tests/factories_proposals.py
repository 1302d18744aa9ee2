"""Factories for proposals, built through the proposal services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from market.db import utcnow
from market.members.models import Member
from market.proposals import services
from market.proposals.models import Proposal
from tests.factories import make_member


def make_proposal(
    session: Session,
    author: Member | None = None,
    *,
    title: str = "Raise the operations share to 12 %",
    body: str = "To fund **member support**.",
    closes_in: timedelta = timedelta(days=7),
    now: datetime | None = None,
    **options: Any,
) -> Proposal:
    """An open proposal (by a new member in good standing unless an author is given)."""
    now = now or utcnow()
    author = author or make_member(session)
    return services.start_proposal(
        session, author, title, body, now + closes_in, now=now, **options
    )


def close_now(session: Session, proposal: Proposal) -> None:
    """Move the closing time into the past (tests do not wait for the clock)."""
    session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id)
        .values(closes_at=utcnow() - timedelta(seconds=1))
    )
    session.flush()
    session.refresh(proposal)
