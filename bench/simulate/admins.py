"""What admins (and the vendors they deal with) do: pay channels, open group buys, propose."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from allocation import payouts
from catalog.models import Channel, Product, Vendor
from market.deals import links, negotiation
from market.deals.negotiation import DealInput, Terms
from market.deals.states import Actor
from market.deals.tiers import Tier
from market.ledger.services import balance, channel_code
from market.members.models import Member
from market.proposals import services as proposals

if TYPE_CHECKING:
    from bench.simulate.world import World


def act(world: World, day: int, now: datetime) -> None:
    """The admins' chores of the day, at noon."""
    if now.day == 2:
        pay_channels(world, now)
    if now.day in (3, 17):
        open_group_buy(world, now)
    if now.day == 5:
        propose(world, now)


def pay_channels(world: World, now: datetime) -> None:
    """Send each channel part of what it is owed (the rest stays for group buys)."""
    with world.tx() as session:
        owed = {c: payouts.owed(session, c) for c in session.scalars(select(Channel.id))}
    for channel_id, cents in owed.items():
        part = cents * world.rng.randrange(40, 80) // 100
        if part <= 0:
            continue
        with world.request("record payout") as session:
            assert session is not None
            payouts.record_payout(
                session,
                world.admin(session),
                channel_id,
                part,
                date(now.year, now.month, now.day),
                f"SIM-{now:%Y%m%d}-{channel_id}",
                world.currency,
            )


def open_group_buy(world: World, now: datetime) -> None:
    """An admin opens a group buy; the vendor offers; the admin counters or accepts."""
    leader_bp = int(world.app.config["LEADER_SHARE_BP"])
    ratify = int(world.app.config["RATIFY_ABOVE_CENTS"])
    with world.tx() as session:
        candidates = list(
            session.execute(
                select(Product.id, Product.channel_id, Product.name)
                .join(Vendor, Vendor.id == Product.vendor_id)
                .where(Product.kind == "seat", Vendor.market_share_bp < leader_bp)
                .order_by(Product.id)
            )
        )
        good = session.scalar(select(func.count()).where(Member.status == "active"))
    if not candidates:
        return
    product_id, channel_id, name = world.rng.choice(candidates)
    minimum = max(2, (good or 0) // world.rng.randrange(15, 40))
    with world.tx() as session:
        available = balance(session, channel_code(channel_id))
    # A careful admin: even if every member in good standing commits, the channel pays.
    price = min(world.rng.randrange(20, 120), available // max(good or 1, minimum))
    if price < 4:
        return
    with world.request("open group buy") as session:
        assert session is not None
        admin = world.admin(session)
        deal = negotiation.open_deal(
            session,
            admin,
            DealInput(
                title=f"{name} group buy ({now:%d %b})",
                product_id=product_id,
                channel_id=channel_id,
                seats_wanted=minimum * 2,
                term_months=world.rng.choice([1, 3, 6]),
                group_buy=True,
                min_members=minimum,
                deadline=now + timedelta(days=world.rng.randrange(5, 14)),
            ),
            leader_bp,
            now=now,
        )
        link, _token = links.create_link(session, admin, deal, 14, now=now)
        terms = Terms([Tier(1, price), Tier(minimum, price * 3 // 4)], 1, deal.term_months)
        negotiation.make_offer(session, deal, Actor.VENDOR, terms, link=link, now=now)
        if world.rng.random() < 0.5:  # the admin counters; the vendor takes it
            lower = Terms([Tier(1, price * 3 // 4), Tier(minimum, price // 2)], 1, deal.term_months)
            negotiation.make_offer(session, deal, Actor.ADMIN, lower, member=admin, now=now)
            negotiation.accept(session, deal, Actor.VENDOR, ratify, now=now)
        else:
            negotiation.accept(session, deal, Actor.ADMIN, ratify, member=admin, now=now)


def propose(world: World, now: datetime) -> None:
    """A member in good standing puts something to the others."""
    with world.tx() as session:
        authors = list(session.scalars(select(Member.id).where(Member.status == "active")))
    if not authors:
        return
    author_id = world.rng.choice(authors)
    with world.request("start a proposal") as session:
        assert session is not None
        author = session.get(Member, author_id)
        assert author is not None
        proposals.start_proposal(
            session,
            author,
            f"Proposal of {now:%B}",
            "Shall the co-op do this?",
            now + timedelta(days=world.rng.randrange(5, 12)),
            now=now,
        )
