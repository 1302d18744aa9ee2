"""Member API operations (a personal access token): me, dues, claims, ballot, receipts.

Each operation calls the service its page calls (catalog.claims, allocation.ballots...),
so a claim through the API and a claim through the page are one and the same operation.
GETs need the read scope; changes need the member scope.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from allocation import ballots, receipts, rounds, splits
from catalog import claims
from market.api.public import round_out
from market.api.schemas import member as schemas
from market.api.tokens import api_member, api_token
from market.auth import api_scope
from market.billing import services as billing
from market.clock import utcnow
from market.webdb import database, get_session

bp = Blueprint(
    "api_member",
    __name__,
    url_prefix="/api/v1/me",
    description="A member, through their personal access token (read or member scope).",
)


@bp.route("")
@api_scope("read")
@bp.response(200, schemas.MeOut)
def me() -> dict[str, Any]:
    """Who this token belongs to, and the scope it carries now."""
    member = api_member()
    from market.members.tokens import effective_scope

    return {
        "id": member.id,
        "email": member.email,
        "display_name": member.display_name,
        "member_class": member.member_class,
        "status": member.status,
        "in_good_standing": member.in_good_standing(utcnow()),
        "is_admin": member.is_admin,
        "scope": effective_scope(api_token(), member),
    }


@bp.route("/dues")
@api_scope("read")
@bp.response(200, schemas.DuesOut)
def dues() -> dict[str, Any]:
    """My dues: where I stand, the next charge, the card's last four digits, my invoices."""
    session = get_session()
    member = api_member()
    account = billing.find_account(session, member)
    cfg = current_app.config
    return {
        "status": member.status,
        "grace_until": member.grace_until,
        "monthly_fee_cents": cfg["MONTHLY_FEE_CENTS"],
        "currency": cfg["CURRENCY"],
        "subscription": account.sub_status if account else "none",
        "cancel_at_period_end": bool(account and account.cancel_at_period_end),
        "next_charge_at": account.current_period_end if account else None,
        "card_last4": account.card_last4 if account else None,
        "invoices": [
            {
                "id": i.id,
                "month": i.month,
                "amount_cents": i.amount_cents,
                "currency": i.currency,
                "status": i.status,
                "paid_at": i.paid_at,
            }
            for i in billing.paid_invoices(session, member)
        ],
    }


def _held(claim_id: int) -> dict[str, Any]:
    for held in claims.my_licences(get_session(), api_member()):
        if held.claim_id == claim_id:
            return held.__dict__
    raise AssertionError("a claim just made is held")  # pragma: no cover


@bp.route("/claims")
@api_scope("read")
@bp.response(200, schemas.ClaimOut(many=True))
def my_claims() -> list[dict[str, Any]]:
    """My licences: every live claim, newest first, with its key or redemption link."""
    return [held.__dict__ for held in claims.my_licences(get_session(), api_member())]


@bp.route("/claims", methods=["POST"])
@api_scope("member")
@bp.arguments(schemas.ClaimIn)
@bp.response(201, schemas.ClaimOut)
def claim(data: dict[str, Any]) -> dict[str, Any]:
    """Claim one licence of a product (the page's one-click claim: same rules, same stock)."""
    claim_id = claims.claim(get_session(), api_member(), data["product_id"])
    return _held(claim_id)


@bp.route("/claims/<int:claim_id>", methods=["DELETE"])
@api_scope("member")
@bp.response(200, schemas.Released)
def release(claim_id: int) -> dict[str, Any]:
    """Give a licence back."""
    return {"released": claims.release(get_session(), api_member(), claim_id)}


def _ballot_out() -> dict[str, Any]:
    session = get_session()
    rnd = rounds.current_round(session)
    if rnd is None:
        return {
            "round": None,
            "eligible": False,
            "reason": "No round is open for voting.",
            "abstain": False,
            "carried_over": False,
            "receipt": None,
            "cast_at": None,
            "channels": [],
        }
    standing = rounds.standing_for(session, rnd, api_member())
    ballot = standing.ballot
    split = splits.parse(ballot.split) if ballot is not None and ballot.split else {}
    return {
        "round": round_out(rnd),
        "eligible": standing.eligible,
        "reason": standing.reason,
        "abstain": bool(ballot and ballot.abstain),
        "carried_over": bool(ballot and ballot.carried_over),
        "receipt": ballot.receipt if ballot else None,
        "cast_at": ballot.cast_at if ballot else None,
        "channels": [
            {"channel_id": c.id, "name": c.name, "bp": split.get(c.id, 0)}
            for c in rounds.round_channels(session, rnd.id)
        ],
    }


@bp.route("/ballot")
@api_scope("read")
@bp.response(200, schemas.BallotOut)
def ballot() -> dict[str, Any]:
    """My ballot in the open round: my split (basis points), or that I abstain, and why not."""
    return _ballot_out()


@bp.route("/ballot", methods=["PUT"])
@api_scope("member")
@bp.arguments(schemas.BallotIn)
@bp.response(200, schemas.CastOut)
def cast(data: dict[str, Any]) -> dict[str, Any]:
    """Cast (or change) my split: basis points by channel id, adding up to 10000."""
    split: dict[int, int] = {}
    for share in data["shares"]:
        split[share["channel_id"]] = split.get(share["channel_id"], 0) + share["bp"]
    done = ballots.cast_ballot(get_session(), api_member(), data["round_id"], split)
    return {"receipt": done.ballot.receipt, "salt": done.salt, "cast_at": done.ballot.cast_at}


@bp.route("/ballot/abstain", methods=["POST"])
@api_scope("member")
@bp.arguments(schemas.AbstainIn)
@bp.response(200, schemas.BallotOut)
def abstain(data: dict[str, Any]) -> dict[str, Any]:
    """Abstain in the open round: I am left out of the tally and my split stops standing."""
    ballots.abstain(get_session(), api_member(), data["round_id"])
    return _ballot_out()


@bp.route("/receipts")
@api_scope("read")
@bp.response(200, schemas.ReceiptOut(many=True))
def my_receipts() -> list[dict[str, Any]]:
    """Each round I voted in: its receipt, salt, and its line in the published audit file."""
    return [
        {
            "round_id": r.round.id,
            "period": r.round.period,
            "receipt": r.receipt,
            "salt": r.salt,
            "status": r.round.status,
            "audit_line": r.found.line_number if r.found else None,
        }
        for r in receipts.my_receipts(database(current_app), get_session(), api_member().id)
    ]
