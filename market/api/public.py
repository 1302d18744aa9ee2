"""Public API operations: the catalogue, the Books and their feed, rounds, results, audit
files and the acquisition reserve.

Each calls the same read functions as the public pages; nothing here needs a token.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, stream_with_context
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from allocation import audit, results, rounds
from allocation.models import Round, RoundStatus
from catalog import browse, services
from catalog.browse import Shelf
from market import filestore
from market.api import cursors
from market.api.problems import ApiProblem
from market.api.schemas import public as schemas
from market.auth import api_scope
from market.books import feed, reports
from market.errors import NotFound
from market.webdb import database, get_session

bp = Blueprint("api_public", __name__, url_prefix="/api/v1", description="Anyone: no token needed.")


def shelf_out(s: Shelf) -> dict[str, Any]:
    p = s.product
    return {
        "id": p.id,
        "name": p.name,
        "category": p.category,
        "description": p.description,
        "terms": p.terms,
        "kind": p.kind,
        "reassignable": p.reassignable,
        "vendor": s.vendor.name,
        "vendor_id": s.vendor.id,
        "channel": s.channel.name,
        "channel_id": s.channel.id,
        "left": s.left,
        "total": s.total,
        "leader": s.leader,
    }


def round_out(rnd: Round) -> dict[str, Any]:
    published = rnd.status == RoundStatus.PUBLISHED
    return {
        "id": rnd.id,
        "period": rnd.period,
        "rule": rnd.rule,
        "status": rnd.status,
        "currency": rnd.currency,
        "opens_at": rnd.opens_at,
        "closes_at": rnd.closes_at,
        "eligible": rnd.eligible_count,
        "ballots_counted": rnd.ballots_counted if published else None,
        "pool_cents": rnd.pool_cents if published else None,
        "audit_head": rnd.audit_head if published else None,
    }


def _leader_bp() -> int:
    return int(current_app.config["LEADER_SHARE_BP"])


@bp.route("/catalogue")
@api_scope("public")
@bp.arguments(schemas.CatalogueQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.CataloguePage)
def catalogue(
    channel: int | None = None, category: str = "", q: str = "", page: int = 1
) -> dict[str, Any]:
    """The catalogue: active products of active channels, 20 a page, by name."""
    result = browse.browse(
        get_session(),
        channel_id=channel or None,
        category=category,
        query=q,
        page=page,
        leader_share_bp=_leader_bp(),
    )
    return {
        "items": [shelf_out(s) for s in result.items],
        "page": result.page,
        "pages": result.pages,
        "total": result.total,
    }


@bp.route("/catalogue/<int:product_id>")
@api_scope("public")
@bp.response(200, schemas.ProductOut)
def product(product_id: int) -> dict[str, Any]:
    """One product with how many are left."""
    try:
        return shelf_out(browse.product_shelf(get_session(), product_id, _leader_bp()))
    except NotFound:
        raise ApiProblem(404, "No such product.") from None


@bp.route("/channels")
@api_scope("public")
@bp.response(200, schemas.ChannelOut(many=True))
def channels() -> list[dict[str, Any]]:
    """The active channels members split the pool among."""
    return [
        {"id": c.id, "name": c.name, "description": c.description}
        for c in services.list_channels(get_session(), active_only=True)
    ]


def _month(row: reports.MonthRow) -> dict[str, Any]:
    return {
        "month": row.month,
        "collected_cents": row.collected,
        "members_paying": row.members_paying,
        "pool_cents": row.pool,
        "reserve_cents": row.reserve,
        "allocated_cents": row.allocated,
        "paid_out_cents": row.paid_out,
        "unallocated_cents": row.unallocated,
    }


@bp.route("/books")
@api_scope("public")
@bp.response(200, schemas.BooksOut)
def books() -> dict[str, Any]:
    """The Books: every month's dues, pool, reserve, allocations and payouts; each channel."""
    session = get_session()
    found = reports.books(session)
    return {
        "currency": current_app.config["CURRENCY"],
        "months": [_month(m) for m in found.months],
        "totals": _month(found.totals),
        "channels": [
            {
                "name": c.name,
                "allocated_cents": c.allocated,
                "spent_on_deals_cents": c.spent_on_deals,
                "paid_out_cents": c.paid_out,
                "owed_cents": c.owed,
            }
            for c in reports.channel_rows(session)
        ],
    }


@bp.route("/rounds")
@api_scope("public")
@bp.response(200, schemas.RoundOut(many=True))
def round_list() -> list[dict[str, Any]]:
    """Every budget round, newest first."""
    return [round_out(r) for r in rounds.all_rounds(get_session())]


def _published(round_id: int) -> Round:
    try:
        return rounds.get_published_round(get_session(), round_id)
    except NotFound:
        raise ApiProblem(404, "No published round with that id.") from None


@bp.route("/rounds/<int:round_id>/results")
@api_scope("public")
@bp.response(200, schemas.ResultsOut)
def round_results(round_id: int) -> dict[str, Any]:
    """A published round's outcome per channel, with the plain mean beside it."""
    session = get_session()
    rnd = _published(round_id)
    res = results.results_for(session, rnd)
    return {
        "round": round_out(rnd),
        "rule_label": res.rule_label,
        "turnout_pct": res.turnout_pct,
        "weights_milli": rounds.class_weights(session, rnd.id),
        "rows": [
            {
                "channel_id": r.channel_id,
                "name": r.name,
                "share_pct": r.share_pct,
                "cents": r.cents,
                "mean_pct": r.mean_pct,
                "mean_cents": r.mean_cents,
            }
            for r in res.rows
        ],
    }


@bp.route("/rounds/<int:round_id>/audit.csv")
@api_scope("public")
@bp.response(200, {"type": "string"}, content_type="text/csv")
def audit_file(round_id: int) -> ResponseReturnValue:
    """A published round's audit file (the same bytes as the page's download)."""
    session = get_session()
    rnd = _published(round_id)
    stored = audit.ensure_stored(database(current_app), session, rnd)
    body = stream_with_context(filestore.chunks(session, stored.id))
    return current_app.response_class(
        body,
        mimetype="text/csv",
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": f'attachment; filename="{audit.download_name(rnd)}"',
            "ETag": f'"{rnd.audit_head}"',
        },
    )


@bp.route("/books/transactions")
@api_scope("public")
@bp.arguments(schemas.FeedQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.FeedOut)
def transactions(month: str = "", cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
    """Every transaction of the books, newest first, accounts by name: the public feed.

    Anonymous, as the page is: no memo, key or member appears. Paged by cursor.
    """
    after = cursors.decode(cursor) if cursor else None
    rows, last = feed.feed_after(get_session(), month, after, limit)
    return {
        "items": [
            {
                "number": r.number,
                "day": r.day,
                "month": r.month,
                "kind": r.kind,
                "currency": r.currency,
                "cents": r.cents,
                "moves": r.moves,
            }
            for r in rows
        ],
        "next_cursor": cursors.encode(*last) if last else None,
    }


@bp.route("/reserve")
@api_scope("public")
@bp.response(200, schemas.ReserveOut)
def reserve() -> dict[str, Any]:
    """The acquisition reserve: its balance against its target, and everything it saw."""
    from market.reserve import services as reserve_services

    session = get_session()
    found = reserve_services.progress(session)
    if found is None:
        raise ApiProblem(404, "This co-op has no acquisition reserve.")
    return {
        "balance_cents": found.balance_cents,
        "target_cents": found.target_cents,
        "purpose": found.purpose,
        "on_ballot": found.on_ballot,
        "percent": found.percent,
        "history": reserve_services.history(session),
    }
