"""The public Books page, and the admin ledger with its CSV export. Thin views."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from market.auth import admin_blueprint, public
from market.books import feed, reports
from market.books.names import account_names
from market.webdb import get_session, stale_ok

bp = Blueprint("ledger", __name__)
admin_bp = admin_blueprint("admin_ledger", __name__, "/ledger")


@bp.route("/books")
@public
@stale_ok
def books() -> ResponseReturnValue:
    return render_template("ledger/books.html", books=reports.books(get_session()))


def _month() -> str:
    """The ?month= filter, or a 400 naming the format (the domain error handler)."""
    return feed.check_month(request.args.get("month", "")[:16])


@bp.route("/books/transactions")
@public
@stale_ok
def transactions() -> ResponseReturnValue:
    number = request.args.get("page", 1, type=int)
    page = feed.feed_page(get_session(), number, _month(), per_page=feed.PER_PAGE)
    return render_template("ledger/feed.html", feed=page)


@bp.route("/books/transactions.csv")
@public
@stale_ok
def transactions_csv() -> ResponseReturnValue:
    month = _month()
    body = "".join(feed.csv_lines(get_session(), month))
    name = f"softcoop-transactions{'-' + month if month else ''}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "")[:10])
    except ValueError:
        return None


def _filter() -> reports.LedgerFilter:
    return reports.LedgerFilter(
        kind=request.args.get("kind", "")[:32],
        account=request.args.get("account", "")[:64],
        start=_date("start"),
        end=_date("end"),
    )


@admin_bp.route("/")
def ledger() -> ResponseReturnValue:
    session = get_session()
    flt = _filter()
    rows, page, pages = reports.transactions(session, flt, request.args.get("page", 1, type=int))
    accounts = reports.accounts(session)
    return render_template(
        "ledger/admin_ledger.html",
        accounts=accounts,
        names=account_names(session, [a.code for a in accounts]),
        kinds=reports.kinds(session),
        rows=rows,
        page=page,
        pages=pages,
        flt=flt,
    )


@admin_bp.route("/export.csv")
def export() -> ResponseReturnValue:
    body = reports.csv_export(get_session(), _filter())
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="softcoop-ledger.csv"'},
    )
