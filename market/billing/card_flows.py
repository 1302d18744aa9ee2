"""Dues a member fixes themselves: a new card on file, paying a past-due invoice now.

Same pattern as `flows` (the key of each outbound call committed before the call, no lock
held while waiting on Stripe), kept apart from the subscribe flow. When Stripe fails or
refuses, nothing is changed for the member and the admins are told (`tell_admins`).
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.billing import news, services
from market.billing.flows import PAYING, begin_call, finish_call, settle_refused_call
from market.billing.models import DuesAccount, DuesInvoice
from market.billing.port import PaymentGateway
from market.billing.services import DuesSettings
from market.errors import Conflict, DomainError
from market.members.models import Member
from market.notifications.services import notify_many

log = logging.getLogger(__name__)


def _paying_account(session: Session, member: Member) -> DuesAccount:
    account = services.find_account(session, member)
    if account is None or account.customer_id is None or account.sub_status not in PAYING:
        raise Conflict("You have no running membership to change. Set up your dues first.")
    return account


def start_card_update(session: Session, gw: PaymentGateway, member: Member) -> str:
    """Open a SetupIntent for a new card on the member's existing customer."""
    account = _paying_account(session, member)
    customer = account.customer_id
    assert customer is not None
    call = begin_call(session, member, f"setup_intent.update:{int(time.time())}")
    intent = gw.create_setup_intent(customer, call.idempotency_key)
    finish_call(call, intent["id"])
    account = _paying_account(session, member)
    account.setup_intent_id = intent["id"]
    session.flush()
    return str(intent["id"])


def finish_card_update(
    session: Session, gw: PaymentGateway, member: Member, setup_intent_id: str
) -> DuesAccount:
    """After the new card was confirmed: make it the one charged from now on."""
    account = _paying_account(session, member)
    if account.setup_intent_id != setup_intent_id:
        raise DomainError("That card setup is not yours or has expired. Please start again.")
    intent = gw.retrieve_setup_intent(setup_intent_id)
    if intent.get("customer") != account.customer_id or intent.get("status") != "succeeded":
        raise DomainError("Your card is not confirmed yet. Please enter it again.")
    customer = account.customer_id
    assert customer is not None
    call = begin_call(session, member, f"card.default:{setup_intent_id}")
    gw.set_default_card(customer, intent["payment_method"], call.idempotency_key)
    brand, last4 = gw.card_of(intent["payment_method"])
    finish_call(call, intent["payment_method"])
    account = _paying_account(session, member)
    account.card_brand, account.card_last4 = brand[:16], last4[:4]
    session.flush()
    return account


def remember_card(session: Session, gw: PaymentGateway, member: Member) -> None:
    """Note the brand and last four digits of the card the first dues were paid with."""
    account = services.find_account(session, member)
    if account is None or not account.setup_intent_id:
        return
    intent = gw.retrieve_setup_intent(account.setup_intent_id)
    if intent.get("payment_method"):
        brand, last4 = gw.card_of(intent["payment_method"])
        account.card_brand, account.card_last4 = brand[:16], last4[:4]
        session.flush()


def open_invoice(session: Session, member: Member) -> DuesInvoice | None:
    """The member's newest unpaid invoice, if any."""
    return session.scalar(
        select(DuesInvoice)
        .where(DuesInvoice.member_id == member.id, DuesInvoice.status.in_(("open", "failed")))
        .order_by(DuesInvoice.created_at.desc(), DuesInvoice.id.desc())
        .limit(1)
    )


def pay_now(session: Session, gw: PaymentGateway, member: Member, cfg: DuesSettings) -> Member:
    """Retry the member's open invoice with the card on file and apply Stripe's answer."""
    account = _paying_account(session, member)
    invoice = open_invoice(session, member)
    if invoice is None:
        raise Conflict("You have nothing left to pay.")
    call = begin_call(session, member, f"invoice.pay:{invoice.id}:{int(time.time()) // 60}")
    paid = gw.pay_invoice(invoice.id, call.idempotency_key)
    if paid.get("status") != "paid":
        settle_refused_call(session, call, paid["id"])
        raise DomainError("The payment did not go through. Please update your card and retry.")
    finish_call(call, paid["id"])
    account = _paying_account(session, member)
    # The payment Stripe just confirmed is newer than the failure that made them past due.
    stamp = max(int(time.time()), account.status_at + 1)
    return news.fulfil(session, account, seen_at=stamp, cfg=cfg, invoice=paid, invoice_event="paid")


def tell_admins(session: Session, member: Member, action: str, problem: DomainError) -> None:
    """Log a Stripe failure and put it in every admin's inbox (after the flow rolled back)."""
    log.error("Stripe failed for member %s (%s): %s", member.id, action, problem.message)
    admins = session.scalars(select(Member).where(Member.is_admin)).all()
    notify_many(
        session,
        admins,
        "billing_problem",
        f"Dues problem: {member.display_name} could not {action}",
        f"Member #{member.id} ({member.email}) tried to {action}; Stripe answered: "
        f"{problem.message} Nothing was changed. Check the member's customer at Stripe.",
        "/admin/",
    )
