"""Admin pages under /admin/deal-ballots: put accepted deals to the members, close early."""

from __future__ import annotations

from datetime import UTC

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from catalog.services import list_channels
from market.auth import admin_blueprint, current_member
from market.clock import utcnow
from market.dealballots import services
from market.dealballots.closing import close_ballot
from market.dealballots.forms import BallotForm, CloseForm
from market.errors import DomainError
from market.money import AmountError, Money
from market.webdb import get_session

bp = admin_blueprint("admin_deal_ballots", __name__, "/deal-ballots")


def _form() -> BallotForm:
    form = BallotForm()
    form.channel_id.choices = [
        SelectChoice(c.id, c.name) for c in list_channels(get_session(), active_only=True)
    ]
    return form


@bp.route("/", methods=["GET", "POST"])
def index() -> ResponseReturnValue:
    session = get_session()
    currency = current_app.config["CURRENCY"]
    form = _form()
    known = {int(c.value) for c in form.channel_id.choices}  # type: ignore[union-attr]
    if request.method == "POST":
        channel_id = form.channel_id.data if form.channel_id.data in known else None
    else:
        channel_id = request.args.get("channel", type=int)
        channel_id = channel_id if channel_id in known else None
        form.channel_id.data = channel_id
    if request.method == "POST" and form.validate_on_submit():
        try:
            budget = Money.parse(form.budget.data, currency).cents if form.budget.data else None
            ballot = services.create_ballot(
                session,
                current_member(),
                channel_id=form.channel_id.data or 0,
                title=form.title.data or "",
                deal_ids=services.parse_approvals(request.form.getlist("deal")),
                budget_cents=budget,
                closes_at=form.closes_at.data.replace(tzinfo=UTC),  # type: ignore[union-attr]
                currency=currency,
            )
        except (DomainError, AmountError) as exc:
            session.rollback()
            form.form_errors.append(getattr(exc, "message", None) or str(exc))
        else:
            flash(f"Deal ballot “{ballot.title}” is open to the members.", "success")
            return redirect(url_for("deal_ballots.show", ballot_id=ballot.id))
    candidates = services.candidates_for(session, channel_id) if channel_id else []
    available = services.available_cents(session, channel_id) if channel_id else 0
    page = render_template(
        "dealballots/admin_index.html",
        form=form,
        channel_id=channel_id,
        candidates=candidates,
        available=available,
        ballots=services.list_ballots(session),
        close_form=CloseForm(),
    )
    return page, 400 if request.method == "POST" else 200


@bp.route("/<int:ballot_id>/close", methods=["POST"])
def close(ballot_id: int) -> ResponseReturnValue:
    session = get_session()
    if not CloseForm().validate_on_submit():
        abort(400, "The form was tampered with or expired; reload the page and try again.")
    services.get_ballot(session, ballot_id)
    report = close_ballot(
        session,
        ballot_id,
        currency=current_app.config["CURRENCY"],
        now=utcnow(),
        early=True,
    )
    if report.status == "already":
        flash("This deal ballot was already closed.", "info")
    else:
        flash(
            f"Closed and published: {report.ballots} ballots, {len(report.funded)} deal(s) funded.",
            "success",
        )
    return redirect(url_for("deal_ballots.show", ballot_id=ballot_id))
