"""The vendor's private link: no account; the token alone authorises, and only while live.

Forged, expired and revoked tokens get the same bare 404 as any unknown page: the page
says nothing about whether a deal exists.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from market.auth import public
from market.db import utcnow
from market.deals import demand, links, negotiation
from market.deals.forms import NoteForm, OfferForm
from market.deals.models import Deal, VendorLink
from market.deals.read import deal_view, offer_view
from market.deals.states import Actor, Status, allowed
from market.deals.tiers import TierError
from market.errors import DomainError, NotFound
from market.extensions import refuse_token, token_budget
from market.webdb import get_session

bp = Blueprint("vendor_deals", __name__, url_prefix="/vendor")
token_budget(bp)


def _open(token: str) -> tuple[Deal, VendorLink]:
    try:
        return links.resolve(get_session(), token)
    except NotFound:
        refuse_token()  # a forged link spends its address's budget (token_budget above)
        abort(404)


def _page(
    token: str,
    deal: Deal,
    form: OfferForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = get_session()
    cfg = current_app.config
    latest = negotiation.latest_offer(session, deal)
    if form is None:
        form = OfferForm(formdata=None)
        if latest is not None:
            form.fill(offer_view(latest).tiers, latest.min_seats, latest.term_months)
        else:
            form.term_months.data = deal.term_months
    page = render_template(
        "deals/vendor.html",
        token=token,
        view=deal_view(session, deal),
        demand=demand.demand_for(session, deal, cfg["MONTHLY_FEE_CENTS"], cfg["OPS_SHARE_BP"]),
        offers=[offer_view(o) for o in negotiation.offers_of(session, deal)],
        history=negotiation.history_of(session, deal),
        form=form,
        note_form=NoteForm(formdata=None),
        can_offer=allowed(deal.status, Status.OFFERED, Actor.VENDOR),
        can_accept=allowed(deal.status, Status.ACCEPTED, Actor.VENDOR),
        can_withdraw=allowed(deal.status, Status.WITHDRAWN, Actor.VENDOR),
        error=error,
    )
    response = current_app.make_response((page, status))
    # The token is in the URL: keep the page out of caches and referrers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/deals/<token>")
@public
def offer_page(token: str) -> ResponseReturnValue:
    deal, _ = _open(token)
    return _page(token, deal)


@bp.route("/deals/<token>/offer", methods=["POST"])
@public
def offer(token: str) -> ResponseReturnValue:
    deal, link = _open(token)
    form = OfferForm()
    if not form.validate_on_submit():
        return _page(token, deal, form, status=400)
    try:
        terms = negotiation.Terms(
            form.parsed_tiers(),
            form.min_seats.data or 0,
            form.term_months.data or 0,
            form.notes.data or "",
        )
        negotiation.make_offer(
            get_session(), deal, Actor.VENDOR, terms, link=link, ip=request.remote_addr
        )
    except TierError as exc:
        form.form_errors.append(str(exc))
        return _page(token, deal, form, status=400)
    except DomainError as exc:
        return _page(token, deal, form, error=exc.message, status=exc.status_code)
    links.touch(link, request.remote_addr, utcnow())
    flash("Thank you: your offer is with the co-op.", "success")
    return redirect(url_for("vendor_deals.offer_page", token=token))


def _answer(token: str, target: Status) -> ResponseReturnValue:
    deal, link = _open(token)
    form = NoteForm()
    if not form.validate_on_submit():
        return _page(token, deal, error="The form expired; reload the page.", status=400)
    session, ip = get_session(), request.remote_addr
    try:
        if target is Status.ACCEPTED:
            ratify_above = current_app.config["RATIFY_ABOVE_CENTS"]
            negotiation.accept(session, deal, Actor.VENDOR, ratify_above, ip=ip)
        else:
            negotiation.end_negotiation(
                session, deal, target, Actor.VENDOR, form.note.data or "", ip=ip
            )
    except DomainError as exc:
        return _page(token, deal, error=exc.message, status=exc.status_code)
    links.touch(link, ip, utcnow())
    flash(f"Recorded: the deal is now {target.value}.", "success")
    return redirect(url_for("vendor_deals.offer_page", token=token))


@bp.route("/deals/<token>/accept", methods=["POST"])
@public
def accept(token: str) -> ResponseReturnValue:
    return _answer(token, Status.ACCEPTED)


@bp.route("/deals/<token>/reject", methods=["POST"])
@public
def reject(token: str) -> ResponseReturnValue:
    return _answer(token, Status.REJECTED)


@bp.route("/deals/<token>/withdraw", methods=["POST"])
@public
def withdraw(token: str) -> ResponseReturnValue:
    return _answer(token, Status.WITHDRAWN)
