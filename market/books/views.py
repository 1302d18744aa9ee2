"""The public Books page, and the admin ledger with its CSV export. Thin views."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from market.auth import admin_blueprint, public
from market.books import reports
from market.webdb import get_session, stale_ok

bp = Blueprint("ledger", __name__)
admin_bp = admin_blueprint("admin_ledger", __name__, "/ledger")


@bp.route("/books")
@public
@stale_ok
def books() -> ResponseReturnValue:
    return render_template("ledger/books.html", books=reports.books(get_session()))


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
    return render_template(
        "ledger/admin_ledger.html",
        accounts=reports.accounts(session),
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
