"""Admin pages under /admin/deals: open, send links, counter, accept, settle, ratify."""

from __future__ import annotations

from datetime import UTC, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from catalog.models import Product, Vendor
from catalog.services import list_channels
from market.auth import admin_blueprint, current_member
from market.db import utcnow
from market.deals import demand, groupbuy, links, negotiation
from market.deals.forms import DealForm, EmptyForm, LinkForm, NoteForm, OfferForm, RatifyForm
from market.deals.models import Deal, WantRequest
from market.deals.read import admin_limit, deal_view, offer_view
from market.deals.settle import settle_deal
from market.deals.states import Actor, Status
from market.deals.tiers import TierError
from market.errors import DomainError
from market.webdb import get_session

bp = admin_blueprint("admin_deals", __name__, "/deals")


def _deal_form(formdata: MultiDict[str, str] | None = None) -> DealForm:
    session = get_session()
    form = DealForm(formdata=formdata)
    products = session.execute(
        select(Product.id, Product.name, Vendor.name)
        .join(Vendor, Vendor.id == Product.vendor_id)
        .where(Product.kind != "link")
        .order_by(Vendor.name, Product.name)
    ).all()
    form.product_id.choices = [SelectChoice(i, f"{p} — {v}") for i, p, v in products]
    form.channel_id.choices = [
        SelectChoice(c.id, c.name) for c in list_channels(session, active_only=True)
    ]
    requests = session.scalars(select(WantRequest).order_by(WantRequest.title)).all()
    form.want_request_id.choices = [SelectChoice(0, "— none —")] + [
        SelectChoice(r.id, r.title) for r in requests
    ]
    return form


@bp.route("/")
def deal_list() -> ResponseReturnValue:
    session = get_session()
    deals = session.scalars(select(Deal).order_by(Deal.updated_at.desc(), Deal.id.desc())).all()
    return render_template("deals/admin_list.html", views=[deal_view(session, d) for d in deals])


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    form = _deal_form(request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        data = negotiation.DealInput(
            title=form.title.data or "",
            product_id=form.product_id.data or 0,
            channel_id=form.channel_id.data or 0,
            seats_wanted=form.seats_wanted.data or 0,
            term_months=form.term_months.data or 0,
            want_request_id=form.want_request_id.data or None,
            notes=form.notes.data or "",
            justification=form.justification.data or "",
            group_buy=bool(form.group_buy.data),
            min_members=form.min_members.data,
            deadline=form.deadline.data.replace(tzinfo=UTC) if form.deadline.data else None,
        )
        try:
            deal = negotiation.open_deal(
                get_session(), current_member(), data, current_app.config["LEADER_SHARE_BP"]
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash("Deal opened as a draft. Send the vendor a link to ask for an offer.", "success")
            return redirect(url_for("admin_deals.detail", deal_id=deal.id))
    status = 400 if request.method == "POST" else 200
    return render_template("deals/admin_new.html", form=form), status


def _load(deal_id: int) -> Deal:
    try:
        return negotiation.get_deal(get_session(), deal_id)
    except DomainError as exc:
        abort(exc.status_code)


def _detail(
    deal: Deal,
    offer_form: OfferForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = get_session()
    cfg = current_app.config
    prog = groupbuy.progress(session, deal, None) if deal.group_buy else None
    seats = prog.committed if prog and deal.settled_at is None and prog.committed else None
    if offer_form is None:
        offer_form = OfferForm(formdata=None)
        latest = negotiation.latest_offer(session, deal)
        if latest is not None:
            offer_form.fill(offer_view(latest).tiers, latest.min_seats, latest.term_months)
    soon = (utcnow() + timedelta(days=7)).replace(second=0, microsecond=0, tzinfo=None)
    page = render_template(
        "deals/admin_detail.html",
        view=deal_view(session, deal, seats),
        limit=admin_limit(session, deal, cfg["RATIFY_ABOVE_CENTS"], cfg["CURRENCY"]),
        quorum_bp=cfg["MONEY_QUORUM_BP"],
        demand=demand.demand_for(session, deal, cfg["MONTHLY_FEE_CENTS"], cfg["OPS_SHARE_BP"]),
        offers=[offer_view(o) for o in negotiation.offers_of(session, deal)],
        history=negotiation.history_of(session, deal),
        links=links.links_of(session, deal),
        progress=prog,
        offer_form=offer_form,
        note_form=NoteForm(formdata=None),
        link_form=LinkForm(formdata=None, days=cfg["DEAL_LINK_DAYS"]),
        ratify_form=RatifyForm(formdata=None, closes_at=soon),
        button=EmptyForm(formdata=None),
        error=error,
        Status=Status,
        now=utcnow(),
    )
    return page, status


@bp.route("/<int:deal_id>")
def detail(deal_id: int) -> ResponseReturnValue:
    return _detail(_load(deal_id))


@bp.route("/<int:deal_id>/link", methods=["POST"])
def make_link(deal_id: int) -> ResponseReturnValue:
    deal = _load(deal_id)
    form = LinkForm()
    if not form.validate_on_submit():
        return _detail(deal, error="Give the number of days (1 to 90) the link works.", status=400)
    try:
        _, token = links.create_link(get_session(), current_member(), deal, form.days.data or 14)
    except DomainError as exc:
        return _detail(deal, error=exc.message, status=exc.status_code)
    url = url_for("vendor_deals.offer_page", token=token, _external=True)
    flash(f"Send this private link to the vendor (it is shown only now): {url}", "link")
    return redirect(url_for("admin_deals.detail", deal_id=deal.id))


@bp.route("/<int:deal_id>/links/<int:link_id>/revoke", methods=["POST"])
def revoke_link(deal_id: int, link_id: int) -> ResponseReturnValue:
    deal = _load(deal_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    links.revoke_link(get_session(), deal, link_id)
    flash("The link is revoked; it now opens nothing.", "success")
    return redirect(url_for("admin_deals.detail", deal_id=deal.id))


@bp.route("/<int:deal_id>/counter", methods=["POST"])
def counter(deal_id: int) -> ResponseReturnValue:
    deal = _load(deal_id)
    form = OfferForm()
    if not form.validate_on_submit():
        return _detail(deal, form, status=400)
    try:
        terms = negotiation.Terms(
            form.parsed_tiers(),
            form.min_seats.data or 0,
            form.term_months.data or 0,
            form.notes.data or "",
        )
        negotiation.make_offer(get_session(), deal, Actor.ADMIN, terms, member=current_member())
    except TierError as exc:
        form.form_errors.append(str(exc))
        return _detail(deal, form, status=400)
    except DomainError as exc:
        return _detail(deal, form, error=exc.message, status=exc.status_code)
    flash("Counter-offer sent; the vendor sees it on their link.", "success")
    return redirect(url_for("admin_deals.detail", deal_id=deal.id))


@bp.route("/<int:deal_id>/accept", methods=["POST"])
def accept(deal_id: int) -> ResponseReturnValue:
    return _decide(deal_id, "accept")


@bp.route("/<int:deal_id>/reject", methods=["POST"])
def reject(deal_id: int) -> ResponseReturnValue:
    return _decide(deal_id, "reject")


@bp.route("/<int:deal_id>/withdraw", methods=["POST"])
def withdraw(deal_id: int) -> ResponseReturnValue:
    return _decide(deal_id, "withdraw")


def _decide(deal_id: int, action: str) -> ResponseReturnValue:
    deal = _load(deal_id)
    form = NoteForm()
    if not form.validate_on_submit():
        abort(400)
    session, admin = get_session(), current_member()
    try:
        if action == "accept":
            negotiation.accept(
                session, deal, Actor.ADMIN, current_app.config["RATIFY_ABOVE_CENTS"], member=admin
            )
        else:
            target = Status.REJECTED if action == "reject" else Status.WITHDRAWN
            negotiation.end_negotiation(
                session, deal, target, Actor.ADMIN, form.note.data or "", member=admin
            )
    except DomainError as exc:
        return _detail(deal, error=exc.message, status=exc.status_code)
    flash(f"Deal {Status(deal.status).value}.", "success")
    return redirect(url_for("admin_deals.detail", deal_id=deal.id))


@bp.route("/<int:deal_id>/settle", methods=["POST"])
def settle(deal_id: int) -> ResponseReturnValue:
    deal = _load(deal_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    cfg = current_app.config
    try:
        result = settle_deal(
            get_session(),
            deal.id,
            currency=cfg["CURRENCY"],
            ratify_above=cfg["RATIFY_ABOVE_CENTS"],
        )
    except DomainError as exc:
        return _detail(deal, error=exc.message, status=exc.status_code)
    flash(result.message, "success" if result.outcome == "tipped" else "info")
    return redirect(url_for("admin_deals.detail", deal_id=deal.id))


@bp.route("/<int:deal_id>/ratify", methods=["POST"])
def ratify(deal_id: int) -> ResponseReturnValue:
    deal = _load(deal_id)
    form = RatifyForm()
    if not form.validate_on_submit() or form.closes_at.data is None:
        return _detail(deal, error="Choose when the ratification vote closes.", status=400)
    try:
        proposal_id = negotiation.start_ratification(
            get_session(),
            current_member(),
            deal,
            form.closes_at.data.replace(tzinfo=UTC),
            current_app.config["CURRENCY"],
            quorum_bp=current_app.config["MONEY_QUORUM_BP"],
        )
    except DomainError as exc:
        return _detail(deal, error=exc.message, status=exc.status_code)
    flash("The deal is put to the members for ratification.", "success")
    return redirect(url_for("proposals.detail", proposal_id=proposal_id))
