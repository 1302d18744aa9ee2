"""Member pages: the most-wanted list, open group buys, a deal's page, commit and withdraw."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict
from wtforms import SelectChoice

from catalog.services import list_channels
from market.auth import current_member
from market.db import utcnow
from market.deals import demand, groupbuy
from market.deals.forms import EmptyForm, WantForm
from market.deals.models import Deal
from market.deals.read import deal_view
from market.errors import DomainError
from market.extensions import throttle
from market.webdb import get_session

bp = Blueprint("deals", __name__, url_prefix="/deals")


def _want_form(formdata: MultiDict[str, str] | None = None) -> WantForm:
    form = WantForm(formdata=formdata)
    form.channel_id.choices = [
        SelectChoice(c.id, c.name) for c in list_channels(get_session(), active_only=True)
    ]
    return form


@bp.route("/")
def deal_list() -> ResponseReturnValue:
    session = get_session()
    member = current_member()
    buys = [
        (deal_view(session, d), groupbuy.progress(session, d, member))
        for d in groupbuy.open_group_buys(session)
    ]
    recent = [deal_view(session, d) for d in groupbuy.recent_deals(session)]
    wanted = demand.most_wanted(session, member, limit=5)
    return render_template("deals/list.html", buys=buys, recent=recent, wanted=wanted)


def _wanted_page(form: WantForm, status: int = 200) -> ResponseReturnValue:
    session = get_session()
    channel_id = request.args.get("channel", type=int)
    lines = demand.most_wanted(session, current_member(), channel_id)
    page = render_template(
        "deals/wanted.html",
        lines=lines,
        per_channel=demand.demand_per_channel(session),
        channel_id=channel_id,
        form=form,
        button=EmptyForm(),
    )
    return page, status


@bp.route("/wanted")
def wanted() -> ResponseReturnValue:
    return _wanted_page(_want_form())


@bp.route("/wanted", methods=["POST"])
@throttle(
    "WANT_RATE_LIMIT",
    "You have asked for a lot of software lately. Try again later.",
    shared=True,  # one budget with the API's POST /api/v1/me/wants
)
def ask() -> ResponseReturnValue:
    form = _want_form(request.form)
    if form.validate_on_submit():
        try:
            made = demand.ask_for(
                get_session(),
                current_member(),
                form.title.data or "",
                form.maker.data or "",
                form.description.data or "",
                form.channel_id.data or 0,
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
            return _wanted_page(form, exc.status_code)
        flash(f"“{made.title}” is on the list, with your want.", "success")
        return redirect(url_for("deals.wanted"))
    return _wanted_page(form, 400)


@bp.route("/wanted/<int:request_id>/want", methods=["POST"])
def want(request_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    demand.add_want(get_session(), current_member(), request_id)
    flash("Your want is counted.", "success")
    return redirect(url_for("deals.wanted"))


@bp.route("/wanted/<int:request_id>/withdraw", methods=["POST"])
def unwant(request_id: int) -> ResponseReturnValue:
    if not EmptyForm().validate_on_submit():
        abort(400)
    demand.withdraw_want(get_session(), current_member(), request_id)
    flash("Your want is withdrawn.", "success")
    return redirect(url_for("deals.wanted"))


def _load(deal_id: int) -> Deal:
    try:
        return groupbuy.get_deal_for_member(get_session(), current_member(), deal_id)
    except DomainError as exc:
        abort(exc.status_code)


def _detail(deal: Deal, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    session = get_session()
    member = current_member()
    now = utcnow()
    prog = groupbuy.progress(session, deal, member, now) if deal.group_buy else None
    seats = prog.committed if prog and deal.settled_at is None else None
    page = render_template(
        "deals/detail.html",
        view=deal_view(session, deal, seats),
        progress=prog,
        in_good_standing=member.in_good_standing(now),
        error=error,
        form=EmptyForm(),
        currency=current_app.config["CURRENCY"],
    )
    return page, status


@bp.route("/<int:deal_id>")
def detail(deal_id: int) -> ResponseReturnValue:
    return _detail(_load(deal_id))


@bp.route("/<int:deal_id>/commit", methods=["POST"])
def commit(deal_id: int) -> ResponseReturnValue:
    deal = _load(deal_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        groupbuy.commit(get_session(), current_member(), deal)
    except DomainError as exc:
        return _detail(deal, exc.message, exc.status_code)
    flash("You are committed. If it tips, your seat will be in the catalogue.", "success")
    return redirect(url_for("deals.detail", deal_id=deal.id))


@bp.route("/<int:deal_id>/withdraw", methods=["POST"])
def withdraw(deal_id: int) -> ResponseReturnValue:
    deal = _load(deal_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        groupbuy.withdraw(get_session(), current_member(), deal)
    except DomainError as exc:
        return _detail(deal, exc.message, exc.status_code)
    flash("Your commitment is withdrawn.", "success")
    return redirect(url_for("deals.detail", deal_id=deal.id))
