"""The public Books page, and the admin ledger with its CSV export. Thin views."""

from __future__ import annotations

import json
import secrets
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from market import filestore
from market.auth import admin_blueprint, public
from market.books import feed, reports
from market.books.names import account_names
from market.filestore import StoredFile
from market.plugins import background
from market.webdb import get_session, stale_ok

# Exports of more transactions than this are written by a job, off the request.
INLINE_TRANSACTIONS = 5_000
EXPORT_JOB = "ledger.export"


class ExportForm(FlaskForm):
    """Just CSRF: "prepare the export"."""


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
    month = _month()  # checked before the first byte: a bad month is a 400, not a cut file
    name = f"softcoop-transactions{'-' + month if month else ''}.csv"
    # Streamed a thousand transactions at a time: years of a large co-op's books are
    # millions of rows, never held in memory at once.
    return Response(
        stream_with_context(feed.csv_lines(get_session(), month)),
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
    """A small export at once; a large one is offered as a background job."""
    session = get_session()
    flt = _filter()
    size = reports.export_size(session, flt)
    if size > current_app.config.get("EXPORT_INLINE_TRANSACTIONS", INLINE_TRANSACTIONS):
        return render_template("ledger/admin_export.html", flt=flt, size=size, form=ExportForm())
    return Response(
        reports.csv_export(session, flt),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="softcoop-ledger.csv"'},
    )


@admin_bp.route("/exports", methods=["POST"])
def start_export() -> ResponseReturnValue:
    """Queue the export as a job; its page follows it and links to the file."""
    if not ExportForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    flt = _filter()
    info = {
        "kind": "ledger-export",
        "filter_kind": flt.kind,
        "filter_account": flt.account,
        "start": flt.start.isoformat() if flt.start else "",
        "end": flt.end.isoformat() if flt.end else "",
    }
    name = f"export/ledger-{secrets.token_hex(8)}.csv"
    stored = filestore.create(get_session(), name, meta=json.dumps(info)).close()
    background(current_app).start(EXPORT_JOB, stored.id)
    return redirect(url_for("admin_ledger.export_status", file_id=stored.id))


def _export(file_id: int) -> tuple[StoredFile, dict[str, Any]]:
    stored = get_session().get(StoredFile, file_id)
    info = json.loads(stored.meta) if stored is not None else {}
    if stored is None or info.get("kind") != "ledger-export":
        abort(404)
    return stored, info


@admin_bp.route("/exports/<int:file_id>")
def export_status(file_id: int) -> ResponseReturnValue:
    """The export's progress bar while its job runs, then a link to the file."""
    stored, info = _export(file_id)
    progress = background(current_app).progress(get_session(), EXPORT_JOB, stored.id)
    return render_template("ledger/admin_export_status.html", stored=stored, info=info,
                           progress=progress)  # fmt: skip


@admin_bp.route("/exports/<int:file_id>/progress.json")
def export_progress(file_id: int) -> ResponseReturnValue:
    """Where the export job is (the page's progress bar polls this)."""
    stored, _info = _export(file_id)
    state = background(current_app).progress(get_session(), EXPORT_JOB, stored.id)
    state["results_url"] = url_for("admin_ledger.export_status", file_id=file_id)
    return jsonify(state)


@admin_bp.route("/exports/<int:file_id>/softcoop-ledger.csv")
def export_file(file_id: int) -> ResponseReturnValue:
    """The finished export, streamed from the database chunk by chunk."""
    stored, info = _export(file_id)
    if not info.get("done"):
        abort(404)
    session = get_session()
    return Response(
        stream_with_context(filestore.chunks(session, stored.id)),
        mimetype="text/csv",
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": 'attachment; filename="softcoop-ledger.csv"',
        },
    )
