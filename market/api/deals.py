"""Deals through the API: wants, group-buy commitments (members) and the vendor's link.

The same services as the Deals pages (market.deals.demand, groupbuy, negotiation).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from market.api.problems import ApiProblem
from market.api.schemas import deals as schemas
from market.api.tokens import api_member, member_key
from market.auth import api_scope
from market.deals import demand, groupbuy
from market.deals.models import Deal
from market.errors import NotFound
from market.extensions import throttle
from market.webdb import get_session

bp = Blueprint(
    "api_deals",
    __name__,
    url_prefix="/api/v1/me",
    description="Wants and group buys (read or member scope).",
)


def _want_lines() -> list[dict[str, Any]]:
    return [
        {
            "id": line.request.id,
            "title": line.request.title,
            "maker": line.request.maker,
            "channel": line.channel,
            "wants": line.wants,
            "mine": line.mine,
        }
        for line in demand.most_wanted(get_session(), api_member())
    ]


@bp.route("/wants")
@api_scope("read")
@bp.response(200, schemas.WantLineOut(many=True))
def wants() -> list[dict[str, Any]]:
    """The most-wanted list, with whether I want each."""
    return _want_lines()


@bp.route("/wants", methods=["POST"])
@api_scope("member")
@throttle(
    "WANT_RATE_LIMIT",
    "You have asked for a lot of software lately. Try again later.",
    key_func=member_key,
    shared=True,
)
@bp.arguments(schemas.WantIn)
@bp.response(201, schemas.WantLineOut)
def ask(data: dict[str, Any]) -> dict[str, Any]:
    """Ask for software the co-op does not hold (counts as my want); the page's budget."""
    made = demand.ask_for(
        get_session(),
        api_member(),
        data["title"],
        data["maker"],
        data["description"],
        data["channel_id"],
    )
    return next(line for line in _want_lines() if line["id"] == made.id)


def _request(request_id: int) -> None:
    try:
        demand.get_request(get_session(), request_id)
    except NotFound:
        raise ApiProblem(404, "No such request.") from None


@bp.route("/wants/<int:request_id>", methods=["PUT"])
@api_scope("member")
@bp.response(200, schemas.WantLineOut)
def add_want(request_id: int) -> dict[str, Any]:
    """Add my want to a request (wanting twice is a conflict)."""
    _request(request_id)
    demand.add_want(get_session(), api_member(), request_id)
    return next(line for line in _want_lines() if line["id"] == request_id)


@bp.route("/wants/<int:request_id>", methods=["DELETE"])
@api_scope("member")
@bp.response(200, schemas.WantLineOut)
def withdraw_want(request_id: int) -> dict[str, Any]:
    """Take my want back."""
    _request(request_id)
    demand.withdraw_want(get_session(), api_member(), request_id)
    return next(line for line in _want_lines() if line["id"] == request_id)


def _group_buy(deal: Deal) -> dict[str, Any]:
    prog = groupbuy.progress(get_session(), deal, api_member())
    return {
        "id": deal.id,
        "title": deal.title,
        "deadline": deal.deadline,
        "committed": prog.committed,
        "needed": prog.needed,
        "mine": prog.mine,
        "open": prog.open,
    }


@bp.route("/group-buys")
@api_scope("read")
@bp.response(200, schemas.GroupBuyOut(many=True))
def group_buys() -> list[dict[str, Any]]:
    """Group buys collecting commitments, soonest deadline first."""
    return [_group_buy(d) for d in groupbuy.open_group_buys(get_session())]


def _deal(deal_id: int) -> Deal:
    try:
        return groupbuy.get_deal_for_member(get_session(), api_member(), deal_id)
    except NotFound:
        raise ApiProblem(404, "No such deal.") from None


@bp.route("/group-buys/<int:deal_id>/commitment", methods=["PUT"])
@api_scope("member")
@bp.response(200, schemas.GroupBuyOut)
def commit(deal_id: int) -> dict[str, Any]:
    """Commit to a group buy (once; before its deadline; members in good standing)."""
    deal = _deal(deal_id)
    groupbuy.commit(get_session(), api_member(), deal)
    return _group_buy(deal)


@bp.route("/group-buys/<int:deal_id>/commitment", methods=["DELETE"])
@api_scope("member")
@bp.response(200, schemas.GroupBuyOut)
def withdraw(deal_id: int) -> dict[str, Any]:
    """Withdraw my commitment before the deadline."""
    deal = _deal(deal_id)
    groupbuy.withdraw(get_session(), api_member(), deal)
    return _group_buy(deal)
