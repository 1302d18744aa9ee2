"""Factories for deals, built through the deal services (as the app builds them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from catalog.models import Channel, Product
from market.clock import period_of
from market.db import utcnow
from market.deals import demand, links, negotiation
from market.deals.models import Deal, WantRequest
from market.deals.negotiation import DealInput, Terms
from market.deals.states import Actor
from market.deals.tiers import Tier
from market.ledger.services import Move, channel_code, pool_code, post
from market.members.models import Member
from tests.catalog.factories import make_channel, make_product, make_vendor
from tests.market.factories import make_member

STORY_TIERS = [Tier(1, 120), Tier(50, 90), Tier(150, 70)]
STORY_TERMS = Terms(STORY_TIERS, 50, 12, "Volume pricing for the co-op.")


def fund_channel(session: Session, channel: Channel, cents: int, key: str | None = None) -> None:
    """Give a channel money to spend, as a published round would (pool -> channel)."""
    post(
        session,
        key or f"test:alloc:{channel.id}:{cents}",
        "allocation",
        f"Allocation to {channel.name}",
        [Move(pool_code(period_of(utcnow())), channel_code(channel.id), cents)],
        "usd",
    )


def make_want_request(
    session: Session, channel: Channel, wants: int = 1, title: str = "Budget Buddy"
) -> WantRequest:
    """A member request wanted by `wants` members."""
    first = make_member(session)
    request = demand.ask_for(session, first, title, "Penny Labs", "", channel.id)
    for _ in range(wants - 1):
        demand.add_want(session, make_member(session), request.id)
    return request


def make_deal(
    session: Session,
    *,
    admin: Member | None = None,
    product: Product | None = None,
    channel: Channel | None = None,
    stage: str = "draft",
    group_buy: bool = True,
    min_members: int = 50,
    **fields: Any,
) -> tuple[Deal, str | None]:
    """A deal taken through the services up to `stage` (draft, requested, offered,
    accepted); also the vendor link's token once one exists."""
    admin = admin or make_member(session, admin=True)
    channel = channel or make_channel(session)
    product = product or make_product(
        session, kind="seat", vendor=make_vendor(session, share_bp=400), channel=channel
    )
    data = DealInput(
        title=fields.pop("title", "Budget Buddy for the co-op"),
        product_id=product.id,
        channel_id=channel.id,
        seats_wanted=fields.pop("seats_wanted", 60),
        term_months=fields.pop("term_months", 12),
        group_buy=group_buy,
        min_members=min_members if group_buy else None,
        deadline=fields.pop("deadline", utcnow() + timedelta(days=10)) if group_buy else None,
        **fields,
    )
    deal = negotiation.open_deal(session, admin, data, 2000)
    token = None
    if stage in ("requested", "offered", "accepted"):
        _, token = links.create_link(session, admin, deal, 14)
    if stage in ("offered", "accepted"):
        negotiation.make_offer(session, deal, Actor.VENDOR, STORY_TERMS, ip="203.0.113.9")
    if stage == "accepted":
        negotiation.accept(session, deal, Actor.ADMIN, 10**9, member=admin)
    return deal, token
