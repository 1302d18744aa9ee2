"""Dues pages ("My dues", the card form) and the Stripe webhook endpoint. Thin views."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
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
from market.billing import card_flows, flows, services, webhooks
from market.billing.gateway import PaymentUnavailable, StripeRejected, gateway
from market.billing.models import DuesInvoice
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
        open_invoice=card_flows.open_invoice(session, member),
        form=ButtonForm(),
        paying=account is not None and account.sub_status in flows.PAYING,
    )


def _failed(exc: DomainError, action: str = "change their dues") -> ResponseReturnValue:
    """Nothing after the flow's last commit point is kept; the member is told what to do."""
    session = get_session()
    session.rollback()
    if isinstance(exc, PaymentUnavailable | StripeRejected):
        card_flows.tell_admins(session, current_member(), action, exc)
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
        return _failed(exc, "pay their first dues")
    try:
        card_flows.remember_card(get_session(), gateway(), current_member())
    except DomainError:
        get_session().rollback()  # only the card's last four digits are missing: shown later
    flash("Thank you! Your first dues are paid and you are an active member.", "success")
    return redirect(url_for("billing.my_dues"))


def _set_cancel(cancel: bool, done: str) -> ResponseReturnValue:
    if ButtonForm().validate_on_submit():
        try:
            flows.set_cancel(
                get_session(), gateway(), current_member(), cancel, services.settings()
            )
        except DomainError as exc:
            return _failed(exc, "cancel" if cancel else "undo their cancellation")
        flash(done, "success")
    return redirect(url_for("billing.my_dues"))


@bp.route("/dues/cancel", methods=["GET", "POST"])
def cancel() -> ResponseReturnValue:
    if request.method == "GET":  # the confirmation; the POST from it cancels
        account = services.find_account(get_session(), current_member())
        return render_template("billing/cancel.html", account=account, form=ButtonForm())
    return _set_cancel(True, "Your membership will end when the paid period ends.")


@bp.route("/dues/resume", methods=["POST"])
def resume() -> ResponseReturnValue:
    return _set_cancel(False, "Welcome back: your dues will continue as before.")


@bp.route("/dues/card", methods=["GET", "POST"])
def update_card() -> ResponseReturnValue:
    session, member = get_session(), current_member()
    if request.method == "POST":
        form = SubscribeForm()
        if not form.validate_on_submit() or not form.setup_intent.data:
            flash("Please enter your card first.", "error")
            return redirect(url_for("billing.update_card"))
        try:
            card_flows.finish_card_update(session, gateway(), member, form.setup_intent.data)
        except DomainError as exc:
            return _failed(exc, "update their card")
        flash("Your new card is on file; the next charge goes to it.", "success")
        return redirect(url_for("billing.my_dues"))
    try:
        card_flows.start_card_update(session, gateway(), member)
        intent = flows.card_form(session, gateway(), member)
    except DomainError as exc:
        return _failed(exc, "update their card")
    if intent is None:
        return redirect(url_for("billing.my_dues"))
    cfg = current_app.config
    return render_template(
        "billing/pay.html",
        form=SubscribeForm(),
        restart=None,
        client_secret=intent["client_secret"],
        publishable_key=cfg["STRIPE_PUBLISHABLE_KEY"],
        stripe_js=cfg["STRIPE_JS_URL"],
        fee=cfg["MONTHLY_FEE_CENTS"],
        updating=True,
    )


@bp.route("/dues/pay-now", methods=["POST"])
def pay_now() -> ResponseReturnValue:
    if not ButtonForm().validate_on_submit():
        return redirect(url_for("billing.my_dues"))
    try:
        card_flows.pay_now(get_session(), gateway(), current_member(), services.settings())
    except DomainError as exc:
        return _failed(exc, "pay their open invoice")
    flash("Paid, thank you: your membership is in good standing again.", "success")
    return redirect(url_for("billing.my_dues"))


@bp.route("/dues/invoices/<invoice_id>")
def invoice(invoice_id: str) -> ResponseReturnValue:
    member = current_member()
    found = get_session().get(DuesInvoice, invoice_id)
    if found is None or found.member_id != member.id:
        abort(404)
    page = render_template("billing/invoice.html", invoice=found, member=member)
    if request.args.get("download"):
        name = f"softcoop-{'receipt' if found.status == 'paid' else 'invoice'}-{found.month}.html"
        return page, 200, {"Content-Disposition": f"attachment; filename={name}"}
    return page


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
