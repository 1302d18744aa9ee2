"""Member-facing dues flows that talk to Stripe: start, subscribe, cancel, undo.

These are the one place that commits inside a request, on purpose: the idempotency key of
each outbound call is committed *before* the call (so a retry after a timeout or a crash
reuses it and Stripe answers with the first result), and no database lock is held while we
wait on the network (on SQLite a held write lock would stall every other writer).
If Stripe cannot be reached the flow raises PaymentUnavailable after the key was stored and
before anything else was written: the member is left exactly as they were.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.billing import services, webhooks
from market.billing.gateway import StripeGateway
from market.billing.models import DuesAccount, StripeCall
from market.billing.services import DuesSettings
from market.db import utcnow
from market.errors import Conflict, DomainError
from market.members.models import Member, MemberStatus

PAYING = {"active", "trialing", "past_due"}


def begin_call(session: Session, member: Member, operation: str) -> StripeCall:
    """The pending call for this operation (reused after a failure) or a new one.

    Commits the session, so the key and everything the flow did before are durable and no
    lock is held while the caller waits on Stripe.
    """
    call = session.scalar(
        select(StripeCall).where(
            StripeCall.member_id == member.id,
            StripeCall.operation == operation,
            StripeCall.status == "pending",
        )
    )
    if call is None:
        key = f"softcoop:{operation}:m{member.id}:{uuid.uuid4().hex}"
        call = StripeCall(member_id=member.id, operation=operation[:64], idempotency_key=key)
        session.add(call)
    session.commit()  # the key is durable before the request leaves
    return call


def finish_call(call: StripeCall, result_id: str) -> None:
    """Mark an outbound call done with what it created."""
    call.status = "done"
    call.result_id = result_id[:64]
    call.finished_at = utcnow()


def _locked_account(session: Session, member: Member) -> DuesAccount:
    account = services.find_account(session, member)
    if account is None or account.customer_id is None:
        raise DomainError("Start by setting up your dues.")
    locked = services.account_by_customer(session, account.customer_id)
    assert locked is not None
    return locked


def start(session: Session, gw: StripeGateway, member: Member, cfg: DuesSettings) -> str:
    """Make sure the member is a Stripe customer and open a SetupIntent for their card."""
    account = services.find_account(session, member)
    if account is not None and account.sub_status in PAYING:
        raise Conflict("Your dues are already set up.")
    if account is None or account.customer_id is None:
        call = begin_call(session, member, "customer.create")
        customer_id = gw.create_customer(
            member.email, member.display_name, member.id, call.idempotency_key
        )
        finish_call(call, customer_id)
        account = services.link_customer(session, member, customer_id)
        webhooks.replay_parked(session, cfg, customer_id)
    customer = account.customer_id
    assert customer is not None
    call = begin_call(session, member, "setup_intent.create")
    intent = gw.create_setup_intent(customer, call.idempotency_key)
    finish_call(call, intent["id"])
    account = _locked_account(session, member)
    account.setup_intent_id = intent["id"]
    session.flush()
    return str(intent["id"])


def card_form(session: Session, gw: StripeGateway, member: Member) -> dict[str, Any] | None:
    """The open SetupIntent the card form confirms, or None when a new one is needed."""
    account = services.find_account(session, member)
    if account is None or not account.setup_intent_id:
        return None
    intent = gw.retrieve_setup_intent(account.setup_intent_id)
    if intent.get("status") not in ("requires_payment_method", "requires_confirmation"):
        return None
    return intent


def subscribe(
    session: Session, gw: StripeGateway, member: Member, setup_intent_id: str, cfg: DuesSettings
) -> Member:
    """After the card was confirmed: start the subscription and apply Stripe's answer."""
    account = services.find_account(session, member)
    if account is None or account.setup_intent_id != setup_intent_id:
        raise DomainError("That card setup is not yours or has expired. Please start again.")
    if account.sub_status in PAYING:
        return member
    intent = gw.retrieve_setup_intent(setup_intent_id)
    if intent.get("customer") != account.customer_id or intent.get("status") != "succeeded":
        raise DomainError("Your card is not confirmed yet. Please enter it again.")
    customer_id = account.customer_id
    assert customer_id is not None
    plan_id = gw.ensure_plan(cfg.fee_cents, cfg.currency)
    call = begin_call(session, member, f"subscription.create:{setup_intent_id}")
    subscription = gw.subscribe(
        customer_id, intent["payment_method"], plan_id, call.idempotency_key
    )
    finish_call(call, subscription["id"])
    invoice = subscription.get("latest_invoice")
    paid = isinstance(invoice, dict) and invoice.get("status") == "paid"
    member = services.fulfil(
        session,
        _locked_account(session, member),
        seen_at=int(subscription.get("created") or time.time()),
        cfg=cfg,
        subscription=subscription,
        invoice=invoice if paid else None,
    )
    if member.status == MemberStatus.PENDING:
        raise DomainError(
            "Your bank declined the first payment. Nothing was charged; please try another card."
        )
    return member


def set_cancel(
    session: Session, gw: StripeGateway, member: Member, cancel: bool, cfg: DuesSettings
) -> Member:
    """Cancel at the end of the paid period, or undo that before it takes effect."""
    account = _locked_account(session, member)
    subscription_id = account.subscription_id
    if subscription_id is None or account.sub_status not in PAYING:
        raise Conflict("You have no running subscription to change.")
    if account.cancel_at_period_end == cancel:
        return member
    stamp = max(int(time.time()), account.snapshot_at, account.status_at)
    call = begin_call(session, member, f"subscription.cancel:{subscription_id}:{int(cancel)}")
    subscription = gw.set_cancel_at_period_end(subscription_id, cancel, call.idempotency_key)
    finish_call(call, subscription["id"])
    return services.fulfil(
        session, _locked_account(session, member), seen_at=stamp, cfg=cfg, subscription=subscription
    )
