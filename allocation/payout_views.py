"""Admin payouts page: record money sent to channels against what each is owed."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

from allocation import payouts
from allocation.forms import PayoutForm
from market.auth import admin_blueprint, current_member
from market.errors import DomainError
from market.webdb import get_session

admin_payouts_bp = admin_blueprint("admin_payouts", __name__, "/payouts")


@admin_payouts_bp.route("/", methods=["GET", "POST"])
def payouts_page() -> ResponseReturnValue:
    session = get_session()
    balances = payouts.channel_balances(session)
    form = PayoutForm()
    form.channel_id.choices = [SelectChoice(str(b.channel_id), b.name) for b in balances]
    periods = payouts.published_periods(session)
    form.period.choices = [SelectChoice(p, p) for p in periods] or [
        SelectChoice("", "the month it is paid in (no round published yet)")
    ]
    if form.validate_on_submit():
        cents = form.amount.data.cents if form.amount.data is not None else 0
        try:
            payouts.record_payout(
                session,
                current_member(),
                form.channel_id.data or 0,
                cents,
                form.paid_on.data,
                form.reference.data or "",
                current_app.config["CURRENCY"],
                period=form.period.data or None,
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash("Payout recorded and booked.", "success")
            return redirect(url_for("admin_payouts.payouts_page"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "allocation/admin_payouts.html",
        form=form,
        balances=balances,
        recent=payouts.recent_payouts(session),
    ), status
