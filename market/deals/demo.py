"""The demo's deals (STORY.md, steps 4-5), built through the deal services.

Forty members want a budgeting app; its maker (a challenger, 4 %) offers volume tiers
through a private link; the group buy is open at 47 of the 50 members it needs. Around it:
one active deal, one offer waiting for the admin (its vendor link is printed), one rejected.
"""

from __future__ import annotations

import random
from datetime import timedelta

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import services as catalog
from catalog.models import Channel, Product
from market.db import utcnow
from market.deals import demand, groupbuy, links, negotiation
from market.deals.models import Deal
from market.deals.negotiation import DealInput, Terms
from market.deals.settle import settle_deal
from market.deals.states import Actor, Status
from market.deals.tiers import Tier
from market.members.models import Member

STORY_TIERS = [Tier(1, 120), Tier(50, 90), Tier(150, 70)]


def _members(session: Session, rng: random.Random, count: int) -> list[Member]:
    members = session.scalars(select(Member).where(Member.is_admin.is_(False)).order_by(Member.id))
    # The dues chapter has charged everyone; only members in good standing may want or commit.
    return rng.sample([m for m in members if m.in_good_standing()], count)


def _budget_app(
    app: Flask, session: Session, admin: Member, safe: Channel, rng: random.Random
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
    wanters = _members(session, rng, 57)
    request = demand.ask_for(
        session, wanters[0], "Penny Budget", "Penny Labs", "Budgeting without ads.", safe.id
    )
    for member in wanters[1:40]:
        demand.add_want(session, member, request.id)
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
            deadline=utcnow() + timedelta(days=2),
        ),
        leader_bp,
    )
    links.create_link(session, admin, deal, 14)
    terms = Terms(STORY_TIERS, 50, 12, "Volume pricing for the co-op; minimum 50 seats.")
    negotiation.make_offer(session, deal, Actor.VENDOR, terms, ip="203.0.113.40")
    negotiation.accept(
        session, deal, Actor.ADMIN, int(app.config["RATIFY_ABOVE_CENTS"]), member=admin
    )
    for member in wanters[:47]:
        groupbuy.commit(session, member, deal)


def _direct(
    app: Flask, session: Session, admin: Member, product: Product, title: str, seats: int
) -> tuple[Deal, str]:
    deal = negotiation.open_deal(
        session,
        admin,
        DealInput(title, product.id, product.channel_id, seats, 12),
        int(app.config["LEADER_SHARE_BP"]),
    )
    _, token = links.create_link(session, admin, deal, 14)
    return deal, token


def chapter_deals(app: Flask, session: Session, rng: random.Random) -> None:
    """Deals: the budgeting-app group buy at 47 of 50, one active, one offered, one rejected."""
    admin = session.scalars(select(Member).where(Member.is_admin.is_(True))).first()
    assert admin is not None, "the members chapter runs first"
    channels = {c.name: c for c in session.scalars(select(Channel))}
    products = {p.name: p for p in session.scalars(select(Product))}
    safe = channels["Safe & Private"]
    _budget_app(app, session, admin, safe, rng)
    ratify = int(app.config["RATIFY_ABOVE_CENTS"])

    active, _ = _direct(
        app, session, admin, products["Kestrel Remote Dev"], "More Kestrel Remote Dev seats", 50
    )
    negotiation.make_offer(
        session,
        active,
        Actor.VENDOR,
        Terms([Tier(1, 150), Tier(50, 110)], 25, 12),
        ip="203.0.113.41",
    )
    negotiation.accept(session, active, Actor.ADMIN, ratify, member=admin)
    settle_deal(session, active.id, currency=app.config["CURRENCY"], ratify_above=ratify)

    offered, token = _direct(
        app,
        session,
        admin,
        products["Quillmail Custom Domain"],
        "Quillmail custom domains for 100",
        100,
    )
    negotiation.make_offer(
        session,
        offered,
        Actor.VENDOR,
        Terms([Tier(1, 80), Tier(100, 60)], 50, 12, "Happy to grow with you."),
        ip="203.0.113.42",
    )

    rejected, _ = _direct(
        app, session, admin, products["Vectorly Font Studio"], "Vectorly Font Studio keys", 40
    )
    negotiation.make_offer(
        session,
        rejected,
        Actor.VENDOR,
        Terms([Tier(1, 450), Tier(40, 400)], 40, 24),
        ip="203.0.113.43",
    )
    negotiation.end_negotiation(
        session,
        rejected,
        Status.REJECTED,
        Actor.ADMIN,
        "Four dollars a seat is more than the channel can carry.",
        member=admin,
    )
    base = str(app.config.get("BASE_URL", "")).rstrip("/")
    click.echo(f"demo: the Quillmail vendor's private link: {base}/vendor/deals/{token}")
