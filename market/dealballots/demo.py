"""The demo's deal ballot: three accepted deals of Make Things put to the members.

Built through the services: each deal is opened, offered through its vendor link and
accepted; the ballot (the channel's whole balance, closing in five days) holds some
members' approvals, so `make run` shows a ballot to approve and, once an admin closes it
(or the schedule does), a published outcome.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Channel, Product
from market.dealballots import services
from market.deals import links, negotiation
from market.deals.negotiation import DealInput, Terms
from market.deals.states import Actor
from market.deals.tiers import Tier
from market.members.models import Member

CLOSES_IN = timedelta(days=5)
# product, seats, per-seat cents
OFFERS = [
    ("Lumen Darkroom", 40, 150),
    ("Vectorly Designer", 30, 200),
    ("Wavecraft Podcast Suite", 20, 300),
]


def chapter_deal_ballots(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """Deal ballot: three accepted Make Things deals put to the members, some approvals in."""
    admin = session.scalars(select(Member).where(Member.is_admin.is_(True))).first()
    channel = session.scalar(select(Channel).where(Channel.name == "Make Things"))
    assert admin is not None and channel is not None, "the members and catalogue chapters run first"
    products = {p.name: p for p in session.scalars(select(Product))}
    ratify = int(app.config["RATIFY_ABOVE_CENTS"])
    deals = []
    for name, seats, cents in OFFERS:
        product = products[name]
        deal = negotiation.open_deal(
            session,
            admin,
            DealInput(f"{name} for {seats} members", product.id, channel.id, seats, 12),
            int(app.config["LEADER_SHARE_BP"]),
            now=now,
        )
        links.create_link(session, admin, deal, 14, now=now)
        terms = Terms([Tier(seats, cents)], seats, 12, "For the co-op's members.")
        negotiation.make_offer(session, deal, Actor.VENDOR, terms, ip="203.0.113.50", now=now)
        negotiation.accept(session, deal, Actor.ADMIN, ratify, member=admin, now=now)
        deals.append(deal)
    if services.available_cents(session, channel.id) < 1:
        return  # nothing to spend: the deals stay accepted, for an admin to put later
    ballot = services.create_ballot(
        session,
        admin,
        channel_id=channel.id,
        title="What Make Things buys next",
        deal_ids=[d.id for d in deals],
        budget_cents=None,
        closes_at=now + CLOSES_IN,
        currency=app.config["CURRENCY"],
        now=now,
    )
    members = [
        m
        for m in session.scalars(
            select(Member).where(Member.is_admin.is_(False)).order_by(Member.id)
        )
        if m.in_good_standing(now)
    ]
    likes = [0.5, 0.3, 0.2]
    for member in rng.sample(members, min(60, len(members))):
        picked = [d.id for d, p in zip(deals, likes, strict=True) if rng.random() < p]
        if picked:
            services.cast_approvals(session, member, ballot.id, picked, now=now)
