"""The vendor's side of a deal through the API: its private link's token authorises it.

`Authorization: Bearer <the token of the deal's private link>` (the one in the link the
co-op sent). A forged, expired or revoked token is the same bare 404 as on the page: the
answer says nothing about whether a deal exists.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request
from flask_smorest import Blueprint

from market.api.problems import ApiProblem
from market.api.schemas import deals as schemas
from market.auth import api_scope
from market.clock import utcnow
from market.deals import links, negotiation
from market.deals.models import Deal, VendorLink
from market.deals.read import deal_view, offer_view
from market.deals.states import Actor, Status, allowed
from market.deals.tiers import Tier, TierError
from market.webdb import get_session

bp = Blueprint(
    "api_vendor",
    __name__,
    url_prefix="/api/v1/vendor",
    description="A vendor, through the token of the deal's private link.",
)


@bp.after_request
def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _open() -> tuple[Deal, VendorLink]:
    """The deal and link the guard opened from the request's token (market.api.tokens)."""
    return g.vendor_deal, g.vendor_link


def _out(deal: Deal) -> dict[str, Any]:
    session = get_session()
    view = deal_view(session, deal)
    return {
        "id": deal.id,
        "title": deal.title,
        "status": deal.status,
        "status_label": view.status_label,
        "product": view.product.name,
        "channel": view.channel.name,
        "seats_wanted": deal.seats_wanted,
        "term_months": deal.term_months,
        "notes": deal.notes,
        "offers": [
            {
                "id": o.offer.id,
                "party": o.offer.party,
                "tiers": [
                    {"from_seats": t.from_seats, "per_seat_cents": t.per_seat_cents}
                    for t in o.tiers
                ],
                "min_seats": o.offer.min_seats,
                "term_months": o.offer.term_months,
                "notes": o.offer.notes,
                "created_at": o.offer.created_at,
            }
            for o in map(offer_view, negotiation.offers_of(session, deal))
        ],
        "can_offer": allowed(deal.status, Status.OFFERED, Actor.VENDOR),
        "can_accept": allowed(deal.status, Status.ACCEPTED, Actor.VENDOR),
        "can_withdraw": allowed(deal.status, Status.WITHDRAWN, Actor.VENDOR),
    }


@bp.route("/deal")
@api_scope("vendor")
@bp.response(200, schemas.VendorDealOut)
def deal() -> dict[str, Any]:
    """The deal this link is for: what the co-op asks, every offer and counter so far."""
    found, _ = _open()
    return _out(found)


@bp.route("/deal/offers", methods=["POST"])
@api_scope("vendor")
@bp.arguments(schemas.OfferIn)
@bp.response(201, schemas.VendorDealOut)
def offer(data: dict[str, Any]) -> dict[str, Any]:
    """Make an offer: price tiers (per seat, from a seat count on), minimum seats, term."""
    found, link = _open()
    terms = negotiation.Terms(
        [Tier(t["from_seats"], t["per_seat_cents"]) for t in data["tiers"]],
        data["min_seats"],
        data["term_months"],
        data["notes"],
    )
    try:
        negotiation.make_offer(
            get_session(), found, Actor.VENDOR, terms, link=link, ip=request.remote_addr
        )
    except TierError as exc:
        raise ApiProblem(400, str(exc), "bad-tiers") from None
    links.touch(link, request.remote_addr, utcnow())
    return _out(found)


@bp.route("/deal/answer", methods=["POST"])
@api_scope("vendor")
@bp.arguments(schemas.AnswerIn)
@bp.response(200, schemas.VendorDealOut)
def answer(data: dict[str, Any]) -> dict[str, Any]:
    """Answer the co-op's counter-offer: accept it, reject it, or withdraw from the deal."""
    found, link = _open()
    session, ip = get_session(), request.remote_addr
    if data["answer"] == "accept":
        ratify_above = current_app.config["RATIFY_ABOVE_CENTS"]
        negotiation.accept(session, found, Actor.VENDOR, ratify_above, ip=ip)
    else:
        target = Status.REJECTED if data["answer"] == "reject" else Status.WITHDRAWN
        negotiation.end_negotiation(session, found, target, Actor.VENDOR, data["note"], ip=ip)
    links.touch(link, ip, utcnow())
    return _out(found)
