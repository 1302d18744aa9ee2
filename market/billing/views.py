"""Dues pages ("My dues", the card form) and the Stripe webhook endpoint. Thin views."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import HiddenField

from market.auth import current_member, public
from market.billing import flows, services, webhooks
from market.billing.gateway import PaymentUnavailable, gateway
from market.errors import DomainError
from market.extensions import csrf, limiter
from market.webdb import get_session

bp = Blueprint("billing", __name__)


@limiter.request_filter
def _not_rate_limited() -> bool:
    """Stripe's webhook is signed and has no limit (one would only make Stripe retry).

    A request filter, unlike @limiter.exempt, skips the limiter's per-request work, a
    measurable share of this hot endpoint's CPU.
    """
    return request.endpoint == "billing.stripe_webhook"


class ButtonForm(FlaskForm):
    """A button that changes something (CSRF-protected, no fields)."""


class SubscribeForm(FlaskForm):
    setup_intent = HiddenField()


@bp.route("/dues")
def my_dues() -> ResponseReturnValue:
    session = get_session()
    member = current_member()
    account = services.find_account(session, member)
    return render_template(
        "billing/dues.html",
        member=member,
        account=account,
        invoices=services.paid_invoices(session, member),
        form=ButtonForm(),
        paying=account is not None and account.sub_status in flows.PAYING,
    )


def _failed(exc: DomainError) -> ResponseReturnValue:
    """Nothing after the flow's last commit point is kept; the member is told what to do."""
    get_session().rollback()
    flash(exc.message, "error")
    return redirect(url_for("billing.my_dues"))


@bp.route("/dues/start", methods=["POST"])
def start() -> ResponseReturnValue:
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("billing.my_dues"))
    try:
        flows.start(get_session(), gateway(), current_member(), services.settings())
    except DomainError as exc:
        return _failed(exc)
    return redirect(url_for("billing.pay"))


@bp.route("/dues/pay")
def pay() -> ResponseReturnValue:
    try:
        intent = flows.card_form(get_session(), gateway(), current_member())
    except PaymentUnavailable as exc:
        return render_template("error.html", code=503, title="Try again", message=exc.message), 503
    if intent is None:
        flash("Let's start your card set-up again.", "info")
        return redirect(url_for("billing.my_dues"))
    cfg = current_app.config
    return render_template(
        "billing/pay.html",
        form=SubscribeForm(),
        restart=ButtonForm(),
        client_secret=intent["client_secret"],
        publishable_key=cfg["STRIPE_PUBLISHABLE_KEY"],
        stripe_js=cfg["STRIPE_JS_URL"],
        fee=cfg["MONTHLY_FEE_CENTS"],
    )


@bp.route("/dues/subscribe", methods=["POST"])
def subscribe() -> ResponseReturnValue:
    form = SubscribeForm()
    if not form.validate_on_submit() or not form.setup_intent.data:
        flash("Please enter your card first.", "error")
        return redirect(url_for("billing.pay"))
    try:
        flows.subscribe(
            get_session(), gateway(), current_member(), form.setup_intent.data, services.settings()
        )
    except DomainError as exc:
        return _failed(exc)
    flash("Thank you! Your first dues are paid and you are an active member.", "success")
    return redirect(url_for("billing.my_dues"))


def _set_cancel(cancel: bool, done: str) -> ResponseReturnValue:
    if ButtonForm().validate_on_submit():
        try:
            flows.set_cancel(
                get_session(), gateway(), current_member(), cancel, services.settings()
            )
        except DomainError as exc:
            return _failed(exc)
        flash(done, "success")
    return redirect(url_for("billing.my_dues"))


@bp.route("/dues/cancel", methods=["POST"])
def cancel() -> ResponseReturnValue:
    return _set_cancel(True, "Your membership will end when the paid period ends.")


@bp.route("/dues/resume", methods=["POST"])
def resume() -> ResponseReturnValue:
    return _set_cancel(False, "Welcome back: your dues will continue as before.")


@bp.route("/billing/stripe/webhook", methods=["POST"])
@public
@csrf.exempt
def stripe_webhook() -> ResponseReturnValue:
    try:
        event = webhooks.verify(
            request.get_data(cache=False),
            request.headers.get("Stripe-Signature"),
            current_app.config["STRIPE_WEBHOOK_SECRET"],
        )
    except webhooks.BadSignature:
        return jsonify(error="bad signature"), 400
    outcome = webhooks.ingest(get_session(), event, services.settings())
    return jsonify(status=outcome.status), outcome.http_status
