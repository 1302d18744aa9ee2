"""What deal pages show: names, terms, prices at the current count. Read-only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from catalog.models import Channel, Product, Vendor
from market.deals.models import Deal, DealOffer
from market.deals.negotiation import latest_offer, offer_cost, require_ratified, seats_to_price
from market.deals.states import LABELS, Status
from market.deals.tiers import Tier, TierError, cost_cents, from_json, tier_for
from market.errors import DomainError


@dataclass(frozen=True)
class OfferView:
    """An offer with its tiers decoded."""

    offer: DealOffer
    tiers: list[Tier]


@dataclass(frozen=True)
class DealView:
    """A deal with the names and figures its pages need."""

    deal: Deal
    vendor: Vendor
    product: Product
    channel: Channel
    status_label: str
    terms: OfferView | None  # the accepted offer, else the latest word
    price_seats: int | None  # the seat count the price below is for
    per_seat_cents: int | None
    cost_cents: int | None


def offer_view(offer: DealOffer) -> OfferView:
    """Decode an offer's tiers for display."""
    return OfferView(offer, from_json(offer.tiers))


def deal_view(session: Session, deal: Deal, seats: int | None = None) -> DealView:
    """The deal with its vendor, product, channel, terms and the price at `seats` seats.

    Without `seats`, the price is for what settling would buy: the seats bought once
    settled, else the seats wanted (at least the offer's minimum).
    """
    vendor = session.get(Vendor, deal.vendor_id)
    product = session.get(Product, deal.product_id)
    channel = session.get(Channel, deal.channel_id)
    assert vendor is not None and product is not None and channel is not None
    offer = (
        session.get(DealOffer, deal.accepted_offer_id)
        if deal.accepted_offer_id
        else latest_offer(session, deal)
    )
    terms = offer_view(offer) if offer else None
    price_seats = per_seat = cost = None
    if terms is not None:
        wanted = deal.seats_bought or seats or deal.seats_wanted
        price_seats = max(wanted, terms.offer.min_seats)
        try:
            per_seat = tier_for(terms.tiers, price_seats).per_seat_cents
            cost = cost_cents(terms.tiers, terms.offer.min_seats, price_seats)
        except TierError:
            per_seat = cost = None
    if deal.cost_cents is not None:
        cost = deal.cost_cents
    label = LABELS.get(Status(deal.status), deal.status)
    return DealView(deal, vendor, product, channel, label, terms, price_seats, per_seat, cost)


@dataclass(frozen=True)
class AdminLimit:
    """The admins' limit for agreeing a deal alone, against this offer's total commitment."""

    limit_cents: int
    monthly_cents: int
    months: int
    total_cents: int
    needs_members: bool
    status: str  # why it may or may not be accepted now, in words


def admin_limit(
    session: Session, deal: Deal, ratify_above: int, currency: str
) -> AdminLimit | None:
    """What the deal page says before accepting: the limit, the total, whether members decide."""
    offer = (
        session.get(DealOffer, deal.accepted_offer_id)
        if deal.accepted_offer_id
        else latest_offer(session, deal)
    )
    if offer is None:
        return None
    monthly = offer_cost(offer, seats_to_price(deal, offer))
    total = monthly * offer.term_months
    status = "Within the limit: admins may accept it alone."
    if total > ratify_above:
        try:
            require_ratified(session, deal, offer, monthly, ratify_above, currency)
            status = "Above the limit, and the members ratified these terms: it may be accepted."
        except DomainError as exc:
            status = exc.message
    return AdminLimit(ratify_above, monthly, offer.term_months, total, total > ratify_above, status)
