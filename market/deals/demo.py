"""The demo's deals (STORY.md, steps 4-5), built through the deal services.

Forty members want a budgeting app; its maker (a challenger, 4 %) offers volume tiers
through a private link; the group buy is open at 47 of the 50 members it needs. Around it:
one active deal, one offer waiting for the admin (its vendor link is printed), one rejected.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import services as catalog
from catalog.models import Channel, Product
from market.deals import demand, groupbuy, links, negotiation
from market.deals.models import Deal
from market.deals.negotiation import DealInput, Terms
from market.deals.settle import settle_deal
from market.deals.states import Actor, Status
from market.deals.tiers import Tier
from market.members.models import Member

STORY_TIERS = [Tier(1, 120), Tier(50, 90), Tier(150, 70)]
DEADLINE_IN = timedelta(days=3)  # the group buy is a few days from its deadline


def _members(session: Session, rng: random.Random, count: int, now: datetime) -> list[Member]:
    members = session.scalars(select(Member).where(Member.is_admin.is_(False)).order_by(Member.id))
    # The dues chapter has charged everyone; only members in good standing may want or commit.
    return rng.sample([m for m in members if m.in_good_standing(now)], count)


def _budget_app(
    app: Flask, session: Session, admin: Member, safe: Channel, rng: random.Random, now: datetime
) -> None:
    leader_bp = int(app.config["LEADER_SHARE_BP"])
    vendor = catalog.save_vendor(
        session,
        admin,
        catalog.VendorInput("Penny Labs", "budgeting", 400, "https://pennylabs.example"),
    )
    product = catalog.save_product(
        session,
        admin,
        catalog.ProductInput(
            vendor_id=vendor.id,
            channel_id=safe.id,
            name="Penny Budget",
            category="budgeting",
            kind="seat",
            description="A private budgeting app: your numbers stay on your devices.",
            terms="One seat per member.",
        ),
        leader_bp,
    )
    wanters = _members(session, rng, 57, now)
    request = demand.ask_for(
        session,
        wanters[0],
        "Penny Budget",
        "Penny Labs",
        "Budgeting without ads.",
        safe.id,
        now=now,
    )
    for member in wanters[1:40]:
        demand.add_want(session, member, request.id, now=now)
    deal = negotiation.open_deal(
        session,
        admin,
        DealInput(
            title="Penny Budget group buy",
            product_id=product.id,
            channel_id=safe.id,
            seats_wanted=60,
            term_months=12,
            want_request_id=request.id,
            group_buy=True,
            min_members=50,
            deadline=now + DEADLINE_IN,
        ),
        leader_bp,
        now=now,
    )
    links.create_link(session, admin, deal, 14, now=now)
    terms = Terms(STORY_TIERS, 50, 12, "Volume pricing for the co-op; minimum 50 seats.")
    negotiation.make_offer(session, deal, Actor.VENDOR, terms, ip="203.0.113.40", now=now)
    ratify = int(app.config["RATIFY_ABOVE_CENTS"])
    negotiation.accept(session, deal, Actor.ADMIN, ratify, member=admin, now=now)
    for member in wanters[:47]:
        groupbuy.commit(session, member, deal, now=now)


def _direct(
    app: Flask,
    session: Session,
    admin: Member,
    product: Product,
    title: str,
    seats: int,
    now: datetime,
) -> tuple[Deal, str]:
    deal = negotiation.open_deal(
        session,
        admin,
        DealInput(title, product.id, product.channel_id, seats, 12),
        int(app.config["LEADER_SHARE_BP"]),
        now=now,
    )
    _, token = links.create_link(session, admin, deal, 14, now=now)
    return deal, token


def chapter_deals(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """Deals: the budgeting-app group buy at 47 of 50, one active, one offered, one rejected."""
    admin = session.scalars(select(Member).where(Member.is_admin.is_(True))).first()
    assert admin is not None, "the members chapter runs first"
    channels = {c.name: c for c in session.scalars(select(Channel))}
    products = {p.name: p for p in session.scalars(select(Product))}
    _budget_app(app, session, admin, channels["Safe & Private"], rng, now)
    token = _other_deals(app, session, admin, products, now)
    base = str(app.config.get("BASE_URL", "")).rstrip("/")
    click.echo(f"demo: the Quillmail vendor's private link: {base}/vendor/deals/{token}")


def _other_deals(
    app: Flask, session: Session, admin: Member, products: dict[str, Product], now: datetime
) -> str:
    """One active deal, one offer awaiting the admin (its link's token returned), one rejected."""
    ratify = int(app.config["RATIFY_ABOVE_CENTS"])
    product = products["Kestrel Remote Dev"]
    active, _ = _direct(app, session, admin, product, "More Kestrel Remote Dev seats", 50, now)
    terms = Terms([Tier(1, 150), Tier(50, 110)], 25, 12)
    negotiation.make_offer(session, active, Actor.VENDOR, terms, ip="203.0.113.41", now=now)
    negotiation.accept(session, active, Actor.ADMIN, ratify, member=admin, now=now)
    currency = app.config["CURRENCY"]
    settle_deal(session, active.id, currency=currency, ratify_above=ratify, now=now)

    product = products["Quillmail Custom Domain"]
    offered, token = _direct(
        app, session, admin, product, "Quillmail custom domains for 100", 100, now
    )
    terms = Terms([Tier(1, 80), Tier(100, 60)], 50, 12, "Happy to grow with you.")
    negotiation.make_offer(session, offered, Actor.VENDOR, terms, ip="203.0.113.42", now=now)

    product = products["Vectorly Font Studio"]
    rejected, _ = _direct(app, session, admin, product, "Vectorly Font Studio keys", 40, now)
    terms = Terms([Tier(1, 450), Tier(40, 400)], 40, 24)
    negotiation.make_offer(session, rejected, Actor.VENDOR, terms, ip="203.0.113.43", now=now)
    negotiation.end_negotiation(
        session,
        rejected,
        Status.REJECTED,
        Actor.ADMIN,
        "Four dollars a seat is more than the channel can carry.",
        member=admin,
        now=now,
    )
    return token
