"""Admin API operations (a token with the admin scope, of a member who is still an admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_smorest import Blueprint

from market.api import cursors
from market.api.problems import ApiProblem
from market.api.schemas import admin as schemas
from market.api.schemas.public import RoundOut
from market.auth import api_scope
from market.books import reports
from market.ledger.models import LedgerTransaction
from market.members import services as members
from market.webdb import get_session

bp = Blueprint(
    "api_admin",
    __name__,
    url_prefix="/api/v1/admin",
    description="Admins, through a token with the admin scope.",
)


@bp.route("/members")
@api_scope("admin")
@bp.arguments(schemas.MembersQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.MembersPage)
def member_list(q: str = "", page: int = 1) -> dict[str, Any]:
    """Members whose email or name contains `q`, newest first, 50 a page."""
    found = members.search_members(get_session(), q, page)
    return {
        "items": [
            {
                "id": m.id,
                "email": m.email,
                "display_name": m.display_name,
                "member_class": m.member_class,
                "status": m.status,
                "is_admin": m.is_admin,
                "created_at": m.created_at,
            }
            for m in found.members
        ],
        "page": found.page,
        "pages": found.pages,
        "total": found.total,
    }


def encode_cursor(txn: LedgerTransaction) -> str:
    return cursors.encode(txn.occurred_at, txn.id)


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (occurred_at, id) a cursor names; a 400 problem for anything else."""
    return cursors.decode(cursor)


@bp.route("/ledger")
@api_scope("admin")
@bp.arguments(schemas.LedgerQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.LedgerPage)
def ledger(
    kind: str = "", account: str = "", cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """The ledger, newest first, paged by cursor: pass `next_cursor` to get the next page."""
    after = decode_cursor(cursor) if cursor else None
    flt = reports.LedgerFilter(kind=kind, account=account)
    rows = reports.transactions_after(get_session(), flt, after, limit + 1)
    page, more = rows[:limit], len(rows) > limit
    return {
        "items": [
            {
                "id": t.id,
                "kind": t.kind,
                "memo": t.memo,
                "occurred_at": t.occurred_at,
                "postings": [
                    {"account": p.account.code, "amount_cents": p.amount_cents} for p in t.postings
                ],
            }
            for t in page
        ],
        "next_cursor": encode_cursor(page[-1]) if more and page else None,
    }


@bp.route("/products/<int:product_id>/keys", methods=["POST"])
@api_scope("admin")
@bp.arguments(schemas.KeysIn)
@bp.response(200, schemas.ImportOut)
def import_keys(data: dict[str, Any], product_id: int) -> dict[str, Any]:
    """Import licence keys (the admin page's import: with bad rows, nothing unless skip_bad)."""
    from catalog import services as catalog
    from catalog.imports import import_keys as run_import
    from market.api.tokens import api_member
    from market.errors import NotFound

    session = get_session()
    try:
        product = catalog.get_product(session, product_id)
    except NotFound:
        raise ApiProblem(404, "No such product.") from None
    done = run_import(session, api_member(), product, data["csv"].encode(), data["skip_bad"])
    return {
        "imported": done.imported,
        "rows": done.rows,
        "rejected": [{"line": r.line, "reason": r.reason} for r in done.rejected],
    }


@bp.route("/rounds", methods=["POST"])
@api_scope("admin")
@bp.arguments(schemas.RoundIn)
@bp.response(201, RoundOut)
def open_round(data: dict[str, Any]) -> dict[str, Any]:
    """Open a month's round (snapshotting its channels and voters, as the admin page does)."""
    from flask import current_app

    from allocation import rounds
    from market.api.public import round_out
    from market.api.tokens import api_member

    rnd = rounds.open_round(
        get_session(),
        api_member(),
        data["period"],
        data["rule"],
        data["closes_at"],
        current_app.config["CURRENCY"],
    )
    return round_out(rnd)


@bp.route("/rounds/<int:round_id>/close", methods=["POST"])
@api_scope("admin")
@bp.arguments(schemas.CloseIn)
@bp.response(202, RoundOut)
def close_round(data: dict[str, Any], round_id: int) -> dict[str, Any]:
    """Close and publish a round, as a background job; before its time only with `early`."""
    from flask import current_app

    from allocation import rounds
    from market.api.public import round_out
    from market.clock import utcnow
    from market.errors import Conflict, NotFound
    from market.plugins import background

    session = get_session()
    try:
        rnd = rounds.get_round(session, round_id)
    except NotFound:
        raise ApiProblem(404, "No such round.") from None
    if rnd.status == "published":
        raise Conflict(f"The {rnd.period} round is already closed and published.")
    if utcnow() < rnd.closes_at and not data["early"]:
        raise Conflict(f"The round closes at {rnd.closes_at:%d %b %Y %H:%M} UTC: send early.")
    background(current_app).start("rounds.close", round_id)
    session.expire_all()  # the job ran (or runs) in its own transactions
    return round_out(rounds.get_round(session, round_id))


@bp.route("/payouts")
@api_scope("admin")
@bp.response(200, schemas.PayoutsOut)
def payouts() -> dict[str, Any]:
    """What each channel was allocated, paid and is still owed; the latest payouts."""
    from allocation import payouts as pay

    session = get_session()
    return {
        "balances": [b.__dict__ for b in pay.channel_balances(session)],
        "recent": [_payout(p, name) for p, name, _period in pay.recent_payouts(session)],
    }


def _payout(p: Any, name: str) -> dict[str, Any]:
    return {
        "id": p.id,
        "channel": name,
        "cents": p.cents,
        "currency": p.currency,
        "paid_on": p.paid_on,
        "reference": p.reference,
    }


@bp.route("/payouts", methods=["POST"])
@api_scope("admin")
@bp.arguments(schemas.PayoutIn)
@bp.response(201, schemas.PayoutOut)
def record_payout(data: dict[str, Any]) -> dict[str, Any]:
    """Record money sent to a channel (never more than owed; one payout per reference)."""
    from flask import current_app

    from allocation import payouts as pay
    from catalog import services as catalog
    from market.api.tokens import api_member
    from market.errors import NotFound

    session = get_session()
    try:
        channel = catalog.get_channel(session, data["channel_id"])
    except NotFound:
        raise ApiProblem(404, "No such channel.") from None
    made = pay.record_payout(
        session,
        api_member(),
        channel.id,
        data["cents"],
        data["paid_on"],
        data["reference"],
        current_app.config["CURRENCY"],
    )
    return _payout(made, channel.name)
