"""Opening deals and negotiating them: offers, counters, accept, reject, withdraw, ratify."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Channel, ChannelKind, Product, ProductKind, Vendor
from catalog.services import leader_ids
from market.db import utcnow
from market.deals.models import Deal, DealEvent, DealOffer, VendorLink, WantRequest
from market.deals.notices import after_move
from market.deals.states import Actor, Status, apply_move, check_move
from market.deals.tiers import Tier, TierError, cost_cents, from_json, to_json, validate_tiers
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.members.models import Member
from market.money import Money

MAX_NOTES = 5_000
MAX_TERM_MONTHS = 60


@dataclass
class DealInput:
    """What an admin sets when opening a deal."""

    title: str
    product_id: int
    channel_id: int
    seats_wanted: int
    term_months: int
    want_request_id: int | None = None
    notes: str = ""
    justification: str = ""
    group_buy: bool = False
    min_members: int | None = None
    deadline: datetime | None = None


def _require_admin(actor: Member) -> None:
    if not actor.is_admin:
        raise Forbidden("Only admins can negotiate deals.")


def _check_input(session: Session, data: DealInput, now: datetime) -> Product:
    product = session.get(Product, data.product_id)
    if product is None:
        raise DomainError("Choose a product from the catalogue.")
    if product.kind == ProductKind.LINK:
        raise DomainError("Link products have no seats to buy; choose a seat or key product.")
    channel = session.get(Channel, data.channel_id)
    if channel is None or not channel.active:
        raise DomainError("Choose the channel whose budget pays for the deal.")
    if channel.kind != ChannelKind.BUNDLE:
        raise DomainError("The acquisition reserve pays no deals: only a decision spends it.")
    if data.want_request_id is not None and session.get(WantRequest, data.want_request_id) is None:
        raise DomainError("That member request does not exist.")
    if not 1 <= data.seats_wanted <= 1_000_000:
        raise DomainError("Seats wanted must be at least 1.")
    if not 1 <= data.term_months <= MAX_TERM_MONTHS:
        raise DomainError(f"The term is between 1 and {MAX_TERM_MONTHS} months.")
    if data.group_buy:
        if data.min_members is None or data.min_members < 1:
            raise DomainError("A group buy needs the number of members it tips at (at least 1).")
        if data.deadline is None or data.deadline <= now:
            raise DomainError("A group buy needs a deadline in the future.")
    return product


def open_deal(
    session: Session,
    admin: Member,
    data: DealInput,
    leader_share_bp: int,
    now: datetime | None = None,
) -> Deal:
    """Open a draft deal for a catalogue product; a market leader's needs a justification."""
    now = now or utcnow()
    _require_admin(admin)
    title = " ".join((data.title or "").split())
    if not title or len(title) > 200:
        raise DomainError("Give the deal a title (at most 200 characters).")
    product = _check_input(session, data, now)
    justification = (data.justification or "").strip()
    if product.vendor_id in leader_ids(session, leader_share_bp) and not justification:
        raise DomainError(
            "This vendor is a market leader. The co-op buys from challengers, so a deal "
            "with a leader needs a written justification."
        )
    deal = Deal(
        title=title,
        vendor_id=product.vendor_id,
        product_id=product.id,
        channel_id=data.channel_id,
        want_request_id=data.want_request_id,
        seats_wanted=data.seats_wanted,
        term_months=data.term_months,
        notes=(data.notes or "").strip()[:MAX_NOTES],
        justification=justification[:MAX_NOTES],
        group_buy=data.group_buy,
        min_members=data.min_members if data.group_buy else None,
        deadline=data.deadline if data.group_buy else None,
        status=Status.DRAFT.value,
        created_by=admin.id,
        created_at=now,
        updated_at=now,
    )
    session.add(deal)
    session.flush()
    session.add(
        DealEvent(
            deal_id=deal.id,
            from_status="",
            to_status=Status.DRAFT.value,
            actor=Actor.ADMIN.value,
            member_id=admin.id,
            note="Opened the deal.",
            created_at=now,
        )
    )
    session.flush()
    return deal


def get_deal(session: Session, deal_id: int) -> Deal:
    """A deal by id (admins see every deal)."""
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound("No such deal.")
    return deal


def latest_offer(session: Session, deal: Deal) -> DealOffer | None:
    """The last word in the negotiation (an offer or a counter), if any."""
    query = select(DealOffer).where(DealOffer.deal_id == deal.id).order_by(DealOffer.id.desc())
    return session.scalars(query.limit(1)).first()


def offers_of(session: Session, deal: Deal) -> list[DealOffer]:
    """Every offer and counter of the deal, oldest first (kept forever)."""
    query = select(DealOffer).where(DealOffer.deal_id == deal.id).order_by(DealOffer.id)
    return list(session.scalars(query))


def history_of(session: Session, deal: Deal) -> list[DealEvent]:
    """Every move of the deal, oldest first."""
    query = select(DealEvent).where(DealEvent.deal_id == deal.id).order_by(DealEvent.id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Terms:
    """An offer's terms, as typed in a form."""

    tiers: list[Tier]
    min_seats: int
    term_months: int
    notes: str = ""


def make_offer(
    session: Session,
    deal: Deal,
    party: Actor,
    terms: Terms,
    *,
    member: Member | None = None,
    link: VendorLink | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> DealOffer:
    """Record an offer (vendor) or counter-offer (admin) and move the deal accordingly."""
    now = now or utcnow()
    if party is Actor.ADMIN:
        assert member is not None
        _require_admin(member)
    target = Status.OFFERED if party is Actor.VENDOR else Status.COUNTERED
    check_move(deal.status, target, party)
    tiers = validate_tiers(terms.tiers, terms.min_seats)
    if not 1 <= terms.term_months <= MAX_TERM_MONTHS:
        raise TierError(f"The term is between 1 and {MAX_TERM_MONTHS} months.")
    offer = DealOffer(
        deal_id=deal.id,
        party=party.value,
        member_id=member.id if member else None,
        link_id=link.id if link else None,
        tiers=to_json(tiers),
        min_seats=terms.min_seats,
        term_months=terms.term_months,
        notes=(terms.notes or "").strip()[:MAX_NOTES],
        ip=ip,
        created_at=now,
    )
    session.add(offer)
    session.flush()
    word = "Offer" if party is Actor.VENDOR else "Counter-offer"
    note = f"{word} #{offer.id}: " + describe_tiers(tiers) + f", minimum {terms.min_seats} seats"
    apply_move(session, deal, target, party, member_id=offer.member_id, note=note, ip=ip, now=now)
    after_move(session, deal, target, party, describe_tiers(tiers))
    return offer


def describe_tiers(tiers: list[Tier], currency: str = "usd") -> str:
    """Tiers in words: "$1.20/seat from 1, $0.90/seat from 50"."""
    return ", ".join(
        f"{Money(t.per_seat_cents, currency).format()}/seat from {t.from_seats}" for t in tiers
    )


def seats_to_price(deal: Deal, offer: DealOffer) -> int:
    """The seat count an offer is judged at before commitments: wanted seats, or the minimum."""
    return max(deal.seats_wanted, offer.min_seats)


def offer_cost(offer: DealOffer, seats: int) -> int:
    """What `seats` seats cost under this offer, per month, in cents."""
    return cost_cents(from_json(offer.tiers), offer.min_seats, max(seats, offer.min_seats))


def ratified_terms(deal: Deal, offer: DealOffer) -> dict[str, Any]:
    """The exact terms a ratification of this offer puts to the members (stored with it)."""
    seats = seats_to_price(deal, offer)
    monthly = offer_cost(offer, seats)
    return {
        "offer_id": offer.id,
        "tiers": offer.tiers,
        "min_seats": offer.min_seats,
        "term_months": offer.term_months,
        "seats": seats,
        "monthly_cents": monthly,
        "total_cents": monthly * offer.term_months,
    }


def _same_offer(terms: Any, offer: DealOffer) -> bool:
    """Whether ratified terms are this offer's: its tiers, minimum and term, exactly."""
    if not isinstance(terms, dict):
        return False  # a ratification from before terms were recorded binds nothing
    return (
        from_json(terms.get("tiers") or []) == from_json(offer.tiers)
        and terms.get("min_seats") == offer.min_seats
        and terms.get("term_months") == offer.term_months
    )


def require_ratified(
    session: Session,
    deal: Deal,
    offer: DealOffer,
    cost: int,
    ratify_above: int,
    currency: str = "usd",
) -> None:
    """Refuse when the total commitment (monthly cost x term) is above the admins' limit and
    members have not ratified these exact terms (tiers, minimum, term) at no more than the
    total commitment they agreed."""
    if cost * offer.term_months <= ratify_above:
        return
    from market.proposals.models import Proposal
    from market.proposals.results import proposal_passed

    why = (
        f"This deal commits {Money(cost * offer.term_months, currency).format()} in all "
        f"({Money(cost, currency).format()} a month for {offer.term_months} months), above the "
        f"{Money(ratify_above, currency).format()} that admins may agree alone; the members "
        "must ratify it first."
    )
    proposals = session.scalars(
        select(Proposal)
        .where(Proposal.subject_kind == "deal", Proposal.subject_id == deal.id)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
    ).all()
    match = next((p for p in proposals if _same_offer(p.terms, offer)), None)
    if match is None:
        other = " The members ratified other terms; these need their own vote." if proposals else ""
        raise Conflict(f"{why}{other} No proposal ratifies offer #{offer.id} yet.")
    passed, reason = proposal_passed(session, match)
    if not passed:
        raise Conflict(f"{why} {reason}")
    total, ratified = cost * offer.term_months, int(match.terms.get("total_cents") or 0)
    if total > ratified:
        raise Conflict(
            f"{why} The members ratified a total commitment of "
            f"{Money(ratified, currency).format()}; this would commit "
            f"{Money(total, currency).format()}, so it needs its own vote."
        )


def accept(
    session: Session,
    deal: Deal,
    party: Actor,
    ratify_above: int,
    *,
    member: Member | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> DealOffer:
    """Accept the other side's latest word; above the limit, only once members ratified."""
    if party is Actor.ADMIN:
        assert member is not None
        _require_admin(member)
    check_move(deal.status, Status.ACCEPTED, party)
    offer = latest_offer(session, deal)
    assert offer is not None  # offered/countered always follows an offer row
    cost = offer_cost(offer, seats_to_price(deal, offer))
    require_ratified(session, deal, offer, cost, ratify_above)
    deal.accepted_offer_id = offer.id
    apply_move(
        session,
        deal,
        Status.ACCEPTED,
        party,
        member_id=member.id if member else None,
        note=f"Accepted offer #{offer.id}.",
        ip=ip,
        now=now,
    )
    after_move(session, deal, Status.ACCEPTED, party)
    return offer


def end_negotiation(
    session: Session,
    deal: Deal,
    target: Status,
    party: Actor,
    note: str,
    *,
    member: Member | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """Reject the latest word, or withdraw from the deal, with an optional note."""
    if target not in (Status.REJECTED, Status.WITHDRAWN):
        raise DomainError("A negotiation ends by rejecting or withdrawing.")
    if party is Actor.ADMIN:
        assert member is not None
        _require_admin(member)
    apply_move(
        session,
        deal,
        target,
        party,
        member_id=member.id if member else None,
        note=(note or "").strip()[:2000],
        ip=ip,
        now=now,
    )
    after_move(session, deal, target, party)


def start_ratification(
    session: Session,
    admin: Member,
    deal: Deal,
    closes_at: datetime,
    currency: str,
    quorum_bp: int | None = None,
) -> int:
    """Put the deal's latest terms to the members as a ratification proposal; its id."""
    from market.proposals.services import start_proposal

    _require_admin(admin)
    offer = latest_offer(session, deal)
    if offer is None or deal.status not in (Status.OFFERED, Status.COUNTERED):
        raise Conflict("There are no terms to ratify yet: wait for the vendor's offer.")
    vendor = session.get(Vendor, deal.vendor_id)
    terms = ratified_terms(deal, offer)
    seats = terms["seats"]
    cost = Money(terms["monthly_cents"], currency).format()
    total = Money(terms["total_cents"], currency).format()
    body = (
        f"Ratify offer #{offer.id} for the deal **{deal.title}** with "
        f"{vendor.name if vendor else 'the vendor'}: "
        f"{describe_tiers(from_json(offer.tiers), currency)}; minimum {offer.min_seats} "
        f"seats, {offer.term_months} months. At {seats} seats it costs **{cost} a month**, "
        f"a total commitment of **{total}**. Only these terms are ratified: any other offer, "
        "or a larger total commitment, needs its own vote."
    )
    proposal = start_proposal(
        session,
        admin,
        f"Ratify deal: {deal.title}"[:200],
        body,
        closes_at,
        subject_kind="deal",
        subject_id=deal.id,
        terms=terms,
        quorum_bp=quorum_bp,
    )
    return proposal.id
