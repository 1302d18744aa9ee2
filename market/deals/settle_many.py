"""Settling many chosen deals at once (a deal ballot's funded set), in a fixed few statements.

The same effects as settle.settle_deal's tip, deal by deal: each deal is claimed (accepted,
unsettled) and moved to active with its seats, cost and end recorded; its cost is booked
channel -> vendor under the key `deal:<id>:settle` (so a replay books nothing twice, and
Where my dues went reads it like any deal); seat products grow by the seats bought; the
move is written to the deal's history. A deal someone settled or withdrew meanwhile is
left alone. The members' choice is the ratification: no admin limit applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from catalog import waitlist
from catalog.models import Channel, Product, ProductKind
from market.deals.follow_through import answer_wants, tell_waitlist
from market.deals.models import Deal, DealEvent, DealOffer
from market.deals.negotiation import offer_cost
from market.deals.settle import add_months
from market.deals.states import Actor, Status, check_move
from market.errors import DomainError
from market.ledger.services import Booking, Move, balance, channel_code, post_many, vendor_code
from market.money import Money


def settle_chosen(
    session: Session, deal_ids: Sequence[int], *, currency: str, now: datetime, why: str
) -> list[int]:
    """Buy the chosen accepted deals; the ids settled. DomainError if a channel cannot pay."""
    if not deal_ids:
        return []
    check_move(Status.ACCEPTED, Status.ACTIVE, Actor.SYSTEM)
    rows = session.execute(
        select(Deal, DealOffer, Product.kind)
        .join(DealOffer, DealOffer.id == Deal.accepted_offer_id)
        .join(Product, Product.id == Deal.product_id)
        .where(Deal.id.in_(deal_ids), Deal.status == Status.ACCEPTED, Deal.settled_at.is_(None))
        .order_by(Deal.id)
    ).all()
    terms = {}
    for deal, offer, kind in rows:
        seats = max(deal.seats_wanted, offer.min_seats)
        terms[deal.id] = (deal, seats, offer_cost(offer, seats), offer.term_months, kind)
    _check_funds(session, terms.values(), currency)
    claimed = set(
        session.scalars(
            update(Deal)
            .where(Deal.id.in_(terms), Deal.status == Status.ACCEPTED, Deal.settled_at.is_(None))
            .values(status=Status.ACTIVE, settled_at=now, updated_at=now)
            .returning(Deal.id)
            .execution_options(synchronize_session=False)
        )
    )
    chosen = [terms[d] for d in sorted(claimed)]
    if not chosen:
        return []
    session.execute(
        update(Deal),
        [
            {"id": d.id, "seats_bought": s, "cost_cents": c, "ends_at": add_months(now, m)}
            for d, s, c, m, _k in chosen
        ],
    )
    post_many(
        session,
        [
            Booking(
                f"deal:{d.id}:settle",
                "deal",
                f"Deal #{d.id}: {d.title}, {s} seats",
                [Move(channel_code(d.channel_id), vendor_code(d.vendor_id), c)],
            )
            for d, s, c, _m, _k in chosen
            if c > 0
        ],
        currency,
        occurred_at=now,
    )
    stock = [{"pid": d.product_id, "n": s} for d, s, _c, _m, k in chosen if k == ProductKind.SEAT]
    if stock:
        table = cast(Table, Product.__table__)
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("pid"))
            .values(seats_total=table.c.seats_total + bindparam("n")),
            stock,
        )
    session.execute(
        insert(DealEvent),
        [
            {
                "deal_id": d.id,
                "from_status": Status.ACCEPTED.value,
                "to_status": Status.ACTIVE.value,
                "actor": Actor.SYSTEM.value,
                "note": f"Tipped: {s} seats for {Money(c, currency).format()} a month. {why}"[
                    :2000
                ],
                "created_at": now,
            }
            for d, s, c, _m, _k in chosen
        ],
    )
    # What the follow-through needs is read before the deals expire: read after, each
    # expired deal reloaded itself, one query per funded deal (66 on the deal ballot bench).
    follow = [(deal, deal.product_id, deal.want_request_id) for deal, *_ in chosen]
    # The deals and products changed behind the ORM's back: expire those loaded.
    for deal, product_id, _want in follow:
        session.expire(deal)
        product = session.identity_map.get(identity_key(Product, product_id))
        if product is not None:
            session.expire(product)
    waited = waitlist.waited_for(session, [product_id for _d, product_id, _w in follow])
    for deal, product_id, want in follow:
        if want is None and product_id not in waited:
            continue  # the usual case: nobody to tell, no query spent
        product = session.get(Product, product_id)
        assert product is not None
        answer_wants(session, deal, product, set())
        if deal.product_id in waited:
            tell_waitlist(session, product)
    return sorted(claimed)


def _check_funds(session: Session, terms: object, currency: str) -> None:
    need: dict[int, int] = {}
    for deal, _s, cost, _m, _k in terms:  # type: ignore[attr-defined]
        need[deal.channel_id] = need.get(deal.channel_id, 0) + cost
    for channel_id, cents in sorted(need.items()):
        available = balance(session, channel_code(channel_id))
        if available < cents:
            channel = session.get(Channel, channel_id)
            raise DomainError(
                f"{channel.name if channel else 'The channel'} has "
                f"{Money(available, currency).format()} available; these deals cost "
                f"{Money(cents, currency).format()}."
            )
