"""Factories for deal ballots: accepted plain deals of one channel, and a ballot over them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from catalog.models import Channel
from market.db import utcnow
from market.dealballots import services
from market.dealballots.models import DealBallot
from market.deals.models import Deal
from market.members.models import Member
from tests.market.deals.factories import make_deal
from tests.market.factories import make_member


def accepted_deals(
    session: Session, admin: Member, channel: Channel, seats: list[int]
) -> list[Deal]:
    """Plain (not group-buy) accepted deals on the story's tiers: 60 seats cost $54.00."""
    return [
        make_deal(
            session,
            admin=admin,
            channel=channel,
            stage="accepted",
            group_buy=False,
            seats_wanted=n,
            title=f"Deal for {n} seats",
        )[0]
        for n in seats
    ]


def open_ballot(
    session: Session,
    channel: Channel,
    deals: list[Deal],
    admin: Member | None = None,
    budget_cents: int | None = None,
    closes_in: timedelta = timedelta(days=3),
) -> DealBallot:
    """A ballot over the deals, through the service."""
    return services.create_ballot(
        session,
        admin or make_member(session, admin=True),
        channel_id=channel.id,
        title="What should Safe & Private buy",
        deal_ids=[d.id for d in deals],
        budget_cents=budget_cents,
        closes_at=utcnow() + closes_in,
        currency="usd",
    )
