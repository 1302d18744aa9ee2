"""Reserve pages: the public history and progress, proposing a spend, the admin settings."""

from __future__ import annotations

from datetime import UTC, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from catalog.models import Vendor
from market.auth import admin_blueprint, current_member, public
from market.clock import utcnow
from market.errors import DomainError
from market.extensions import throttle
from market.reserve import services, spending
from market.reserve.forms import BallotForm, SpendForm, TargetForm
from market.webdb import get_session, stale_ok

bp = Blueprint("reserve", __name__, url_prefix="/reserve")
admin_bp = admin_blueprint("admin_reserve", __name__, "/reserve")


@bp.route("/")
@public
@stale_ok
def history() -> ResponseReturnValue:
    session = get_session()
    return render_template(
        "reserve/history.html",
        progress=services.progress(session),
        lines=services.history(session),
        spends=spending.spends(session),
        quorum_bp=current_app.config["MONEY_QUORUM_BP"],
    )


def _payees(form: SpendForm) -> None:
    vendors = get_session().execute(select(Vendor.id, Vendor.name).order_by(Vendor.name)).all()
    form.payee.choices = [(vid, name) for vid, name in vendors]


@bp.route("/spend", methods=["GET", "POST"])
@throttle("PROPOSAL_RATE_LIMIT", "You have started a lot of proposals lately. Try again later.")
def propose() -> ResponseReturnValue:
    form = SpendForm()
    _payees(form)
    session = get_session()
    status = 200
    if request.method == "GET":
        soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
        form.closes_at.data = soon.replace(tzinfo=None)
    elif form.validate_on_submit():
        assert form.amount.data is not None and form.closes_at.data is not None
        data = spending.SpendInput(
            vendor_id=form.payee.data or 0,
            amount_cents=form.amount.data.cents,
            title=form.title.data or "",
            reason=form.reason.data or "",
            closes_at=form.closes_at.data.replace(tzinfo=UTC),
        )
        try:
            spend = spending.propose_spend(
                session,
                current_member(),
                data,
                quorum_bp=current_app.config["MONEY_QUORUM_BP"],
                currency=current_app.config["CURRENCY"],
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            flash("Your decision is open for positions.", "success")
            return redirect(url_for("proposals.detail", proposal_id=spend.proposal_id))
    else:
        status = 400
    page = render_template(
        "reserve/propose.html",
        form=form,
        progress=services.progress(session),
        quorum_bp=current_app.config["MONEY_QUORUM_BP"],
    )
    return page, status


@admin_bp.route("/", methods=["GET", "POST"])
def settings() -> ResponseReturnValue:
    session = get_session()
    admin = current_member()
    target_form = TargetForm(prefix="target")
    ballot_form = BallotForm(prefix="ballot")
    status = 200
    try:
        if request.method == "POST" and "target-target" in request.form:
            if target_form.validate_on_submit():
                assert target_form.target.data is not None
                services.set_target(
                    session,
                    admin,
                    target_form.target.data.cents,
                    target_form.purpose.data or "",
                    current_app.config["CURRENCY"],
                )
                flash("The reserve's target is set.", "success")
                return redirect(url_for("admin_reserve.settings"))
            status = 400
        elif request.method == "POST":
            if ballot_form.validate_on_submit():
                services.set_up(session, admin, bool(ballot_form.on_ballot.data))
                flash("Saved: rounds opened from now on take this.", "success")
                return redirect(url_for("admin_reserve.settings"))
            status = 400
    except DomainError as exc:
        target_form.form_errors.append(exc.message)
        status = exc.status_code
    channel = services.reserve_channel(session)
    if request.method == "GET":
        ballot_form.on_ballot.data = channel.active if channel else True
    page = render_template(
        "reserve/admin.html",
        channel=channel,
        progress=services.progress(session),
        target_form=target_form,
        ballot_form=ballot_form,
    )
    return page, status
