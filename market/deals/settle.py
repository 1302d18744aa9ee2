"""Settling a deal: tip (book the cost, provision seats, activate) or lapse; and expiry.

One run per deal: the run first claims the deal with a conditional UPDATE (settled_at is
NULL and the deal is accepted). On PostgreSQL a concurrent run's UPDATE waits for the row
lock and then matches nothing; on SQLite write transactions are serialised by BEGIN
IMMEDIATE. Everything a run does is in one transaction, so a crash leaves no half-settled
deal, and the ledger key `deal:<id>:settle` makes a replay book nothing twice.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.models import Channel, Product
from market.db import utcnow
from market.deals.follow_through import answer_wants, reserve_seats, tell_waitlist
from market.deals.groupbuy import committed_count, committed_members
from market.deals.models import Deal, DealOffer
from market.deals.negotiation import offer_cost, require_ratified
from market.deals.provision import provision
from market.deals.states import Actor, Status, apply_move
from market.errors import Conflict, DomainError, NotFound
from market.ledger.services import Move, balance, channel_code, post, vendor_code
from market.money import Money
from market.notifications.services import notify_many


@dataclass(frozen=True)
class Settlement:
    """What a settle run did: 'tipped', 'lapsed', 'waiting' or 'already', and why."""

    outcome: str
    message: str


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (clamped to the month's last day)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _claim(session: Session, deal: Deal, now: datetime) -> bool:
    result = session.execute(
        update(Deal)
        .where(Deal.id == deal.id, Deal.status == Status.ACCEPTED, Deal.settled_at.is_(None))
        .values(settled_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(deal)
    return result.rowcount == 1  # type: ignore[attr-defined]


def settle_deal(
    session: Session,
    deal_id: int,
    *,
    currency: str,
    ratify_above: int,
    now: datetime | None = None,
) -> Settlement:
    """Settle one accepted deal (idempotent); DomainError when the channel cannot pay.

    A deal put to a deal ballot is settled only by that ballot's close (settle_many).
    """
    now = now or utcnow()
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound("No such deal.")
    if deal.ballot_id is not None and deal.status == Status.ACCEPTED:
        raise Conflict(
            f"Deal #{deal.id} is on deal ballot #{deal.ballot_id}: the members' ballot decides "
            "whether it is bought, at its close."
        )
    if deal.settled_at is not None or deal.status in (Status.ACTIVE, Status.LAPSED):
        return Settlement("already", f"Deal #{deal.id} was already settled ({deal.status}).")
    if deal.status != Status.ACCEPTED:
        raise Conflict(f"Only accepted deals can be settled; this one is {deal.status}.")
    if not _claim(session, deal, now):
        return Settlement("already", f"Deal #{deal.id} was already settled ({deal.status}).")
    offer = session.get(DealOffer, deal.accepted_offer_id)
    assert offer is not None
    if not deal.group_buy:
        return _tip(session, deal, offer, deal.seats_wanted, currency, ratify_above, now)
    # Read after the claim (no commitment can slip in); only members in good standing now count.
    count = committed_count(session, deal, now)
    needed = deal.min_members or 0
    assert deal.deadline is not None
    if count >= needed:
        return _tip(session, deal, offer, count, currency, ratify_above, now)
    if now < deal.deadline:
        deal.settled_at = None  # give the claim back: the group buy is still collecting
        session.flush()
        return Settlement(
            "waiting",
            f"Still collecting: {count} of {needed} members have committed. It tips as soon "
            f"as {needed} have, or lapses after {deal.deadline:%d %b %Y %H:%M} UTC.",
        )
    return _lapse(session, deal, count, needed, now)


def _tip(
    session: Session,
    deal: Deal,
    offer: DealOffer,
    members: int,
    currency: str,
    ratify_above: int,
    now: datetime,
) -> Settlement:
    seats = max(members, offer.min_seats)
    cost = offer_cost(offer, seats)
    require_ratified(session, deal, offer, cost, ratify_above, currency)
    channel = session.get(Channel, deal.channel_id)
    product = session.get(Product, deal.product_id)
    assert channel is not None and product is not None
    available = balance(session, channel_code(channel.id))
    if available < cost:
        raise DomainError(
            f"{channel.name} has {Money(available, currency).format()} available; "
            f"this deal costs {Money(cost, currency).format()}."
        )
    if cost > 0:
        post(
            session,
            f"deal:{deal.id}:settle",
            "deal",
            f"Deal #{deal.id}: {deal.title}, {seats} seats",
            [Move(channel_code(channel.id), vendor_code(deal.vendor_id), cost)],
            currency,
            occurred_at=now,
        )
    stocked = provision(session, product, seats)
    deal.seats_bought, deal.cost_cents = seats, cost
    deal.ends_at = add_months(now, offer.term_months)
    figure = Money(cost, currency).format()
    note = f"Tipped: {seats} seats for {figure} a month from {channel.name}. {stocked}"
    apply_move(session, deal, Status.ACTIVE, Actor.SYSTEM, note=note, now=now)
    told: set[int] = set()
    if deal.group_buy:
        committed = committed_members(session, deal, now)
        reserved = set(reserve_seats(session, deal, product, committed, now))
        for got, group in ((True, [m for m in committed if m.id in reserved]),
                           (False, [m for m in committed if m.id not in reserved])):  # fmt: skip
            notify_many(
                session,
                group,
                "deal_tipped",
                f"Group buy tipped: {deal.title}",
                f"{members} members committed, so the co-op bought {seats} seats of "
                f"{product.name}. "
                + (
                    "A seat is claimed for you: it is on My licences."
                    if got
                    else "You can claim yours in the catalogue (keys: once the vendor's arrive)."
                ),
                f"/deals/{deal.id}",
            )
        told = {m.id for m in committed}
    answer_wants(session, deal, product, told)
    tell_waitlist(session, product)  # seats the committed members did not take
    return Settlement("tipped", note)


def _lapse(session: Session, deal: Deal, count: int, needed: int, now: datetime) -> Settlement:
    note = f"Lapsed: {count} of the {needed} members needed committed by the deadline."
    apply_move(session, deal, Status.LAPSED, Actor.SYSTEM, note=note, now=now)
    notify_many(
        session,
        committed_members(session, deal, now),
        "deal_lapsed",
        f"Group buy lapsed: {deal.title}",
        f"Only {count} of the {needed} members needed committed by the deadline, so the "
        "co-op did not buy it and nothing was spent.",
        f"/deals/{deal.id}",
    )
    return Settlement("lapsed", note)


def due_for_settling(session: Session, now: datetime | None = None) -> list[int]:
    """Accepted deals a settle run should look at: plain deals, and group buys."""
    query = (
        select(Deal.id)
        .where(Deal.status == Status.ACCEPTED, Deal.settled_at.is_(None), Deal.ballot_id.is_(None))
        .order_by(Deal.id)
    )
    return list(session.scalars(query))


def expire_due(session: Session, now: datetime | None = None) -> list[int]:
    """Move active deals whose term is over to expired; their ids."""
    now = now or utcnow()
    query = select(Deal).where(Deal.status == Status.ACTIVE, Deal.ends_at <= now)
    expired = []
    for deal in session.scalars(query).all():
        apply_move(session, deal, Status.EXPIRED, Actor.SYSTEM, note="Its term is over.", now=now)
        expired.append(deal.id)
    return expired
