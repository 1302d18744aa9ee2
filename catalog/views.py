"""Member pages: browse the catalogue, claim a licence, My licences, release."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user

from catalog import browse, claims, services, waitlist
from catalog.forms import EmptyForm
from market.auth import current_member, public
from market.db import utcnow
from market.errors import DomainError, NotFound
from market.plugins import product_pointers
from market.webdb import get_session, stale_ok

bp = Blueprint("catalog", __name__)
# A blueprint of its own, so the main navigation marks "My licences" apart from "Catalogue".
licences_bp = Blueprint("licences", __name__)


@licences_bp.after_request
def _never_cache_keys(response: Response) -> Response:
    """Licence keys show on these pages: no browser or proxy may keep a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _leader_bp() -> int:
    return int(current_app.config["LEADER_SHARE_BP"])


@bp.route("/catalogue")
@public
@stale_ok
def catalogue() -> ResponseReturnValue:
    session = get_session()
    channel_id = request.args.get("channel", 0, type=int)
    category = request.args.get("category", "")[:80]
    query = request.args.get("q", "")[:100]
    result = browse.browse(
        session,
        channel_id=channel_id or None,
        category=category,
        query=query,
        page=request.args.get("page", 1, type=int),
        leader_share_bp=_leader_bp(),
    )
    held: set[int] = set()
    if current_user.is_authenticated:
        held = claims.held_product_ids(
            session, current_member(), [s.product.id for s in result.items]
        )
    return render_template(
        "catalog/catalogue.html",
        result=result,
        channels=services.list_channels(session, active_only=True),
        categories=services.categories(session),
        channel_id=channel_id,
        category=category,
        q=query,
        held=held,
        form=EmptyForm(),
    )


def _product_page(
    product_id: int, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    session = get_session()
    try:
        shelf = browse.product_shelf(session, product_id, _leader_bp())
    except NotFound:
        abort(404)
    held = current_user.is_authenticated and bool(
        claims.held_product_ids(session, current_member(), [product_id])
    )
    problem = None
    if current_user.is_authenticated:
        problem = claims.standing_problem(current_member(), utcnow())
    pointers = product_pointers(current_app, session, product_id) if shelf.left == 0 else []
    waiting = (
        shelf.left == 0
        and current_user.is_authenticated
        and waitlist.is_waiting(session, current_member(), product_id)
    )
    return render_template(
        "catalog/product.html",
        shelf=shelf,
        pointers=pointers,
        waiting=waiting,
        held=held,
        problem=problem,
        error=error,
        form=EmptyForm(),
    ), status


@bp.route("/catalogue/<int:product_id>")
@public
@stale_ok
def product(product_id: int) -> ResponseReturnValue:
    return _product_page(product_id)


@bp.route("/catalogue/<int:product_id>/waitlist", methods=["POST"])
def wait_for(product_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400, "The form was tampered with or expired; reload the page and try again.")
    session = get_session()
    if request.form.get("action") == "leave":
        waitlist.leave(session, current_member(), product_id)
        flash("You are no longer waiting for it.", "info")
    else:
        waitlist.join(session, current_member(), product_id)
        flash("You are on the waitlist: we will tell you when it is back.", "success")
    return redirect(url_for("catalog.product", product_id=product_id), 303)


@bp.route("/catalogue/<int:product_id>/claim", methods=["POST"])
def claim(product_id: int) -> ResponseReturnValue:
    try:
        claim_id = claims.claim(get_session(), current_member(), product_id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        return _product_page(product_id, exc.message, exc.status_code)
    flash("Claimed. Your licence is below.", "success")
    return redirect(url_for("licences.my_licences", _anchor=f"claim-{claim_id}"), 303)


@licences_bp.route("/licences")
def my_licences() -> ResponseReturnValue:
    held = claims.my_licences(get_session(), current_member())
    return render_template("catalog/my_licences.html", held=held, form=EmptyForm())


@licences_bp.route("/licences/<int:claim_id>/release", methods=["POST"])
def release(claim_id: int) -> ResponseReturnValue:
    try:
        name = claims.release(get_session(), current_member(), claim_id)
    except NotFound:
        abort(404)
    flash(f"Released {name}. Thank you for giving it back.", "success")
    return redirect(url_for("licences.my_licences"), 303)
