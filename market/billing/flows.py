"""Member-facing dues flows that talk to Stripe: start, subscribe, cancel, undo.

These are the one place that commits inside a request, on purpose: the idempotency key of
each outbound call is committed *before* the call (so a retry after a timeout or a crash
reuses it and Stripe answers with the first result), and no database lock is held while we
wait on the network (on SQLite a held write lock would stall every other writer).
If Stripe cannot be reached the flow raises PaymentUnavailable after the key was stored and
before anything else was written: the member is left exactly as they were.

The app does not rely on Stripe's idempotency to stop parallel clicks (localstripe ignores
the keys): a call is *claimed* in the database before it is made (one pending call per
member and operation, a unique index; a claim lease that a second request cannot take), so
five "subscribe" clicks at once make one subscription, and the others are told to wait.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.billing import news, services, webhooks
from market.billing.models import DuesAccount, StripeCall
from market.billing.port import PaymentGateway
from market.billing.services import DuesSettings
from market.db import utcnow
from market.errors import Conflict, DomainError
from market.members.models import Member, MemberStatus

PAYING = {"active", "trialing", "past_due"}


# Longer than a whole flow's Stripe calls can take (each times out after STRIPE_TIMEOUT).
CLAIM_LEASE = timedelta(minutes=3)
BUSY = "Your dues are being set up in another window or tab. Wait a moment, then reload this page."


def _pending(session: Session, member_id: int, operation: str) -> StripeCall | None:
    return session.scalar(
        select(StripeCall).where(
            StripeCall.member_id == member_id,
            StripeCall.operation == operation,
            StripeCall.status == "pending",
        )
    )


def _take(session: Session, call_id: int, now: datetime) -> bool:
    """Claim a pending call unless another request holds a live claim on it."""
    result = session.execute(
        update(StripeCall)
        .where(StripeCall.id == call_id, StripeCall.status == "pending")
        .where(or_(StripeCall.claimed_at.is_(None), StripeCall.claimed_at < now - CLAIM_LEASE))
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def begin_call(
    session: Session, member: Member, operation: str, now: datetime | None = None
) -> StripeCall:
    """Claim the pending call for this operation (reused after a failure) or a new one.

    Raises Conflict while another request holds the claim. Commits the session, so the key
    and everything the flow did before are durable and no lock is held while the caller
    waits on Stripe.
    """
    now = now or utcnow()
    operation = operation[:64]
    call = _pending(session, member.id, operation)
    if call is None:
        key = f"softcoop:{operation}:m{member.id}:{uuid.uuid4().hex}"
        try:
            with session.begin_nested():
                call = StripeCall(
                    member_id=member.id, operation=operation, idempotency_key=key, claimed_at=now
                )
                session.add(call)
        except IntegrityError:  # a parallel request made it first: theirs is claimed
            session.rollback()
            raise Conflict(BUSY) from None
    elif not _take(session, call.id, now):
        session.rollback()
        raise Conflict(BUSY)
    session.commit()  # the key and the claim are durable before the request leaves
    return call


def release_call(session: Session, call: StripeCall) -> None:
    """Give up the claim after a failed call (nothing after the claim is kept)."""
    session.rollback()
    session.execute(
        update(StripeCall)
        .where(StripeCall.id == call.id, StripeCall.status == "pending")
        .values(claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


@contextmanager
def stripe_work(session: Session, member: Member, operation: str) -> Iterator[StripeCall]:
    """Claim a call for the block; a failure in it releases the claim for a retry."""
    call = begin_call(session, member, operation)
    try:
        yield call
    except Exception:
        release_call(session, call)
        raise


def _no_locks(session: Session) -> None:
    """End the read transaction before waiting on Stripe (on SQLite it holds the write lock)."""
    session.commit()


def settle_refused_call(session: Session, call: StripeCall, result_id: str) -> None:
    """Stripe answered "no": record the call as done and commit, though the request fails.

    The next try (say, with a new card) is then a new call with a new idempotency key rather
    than a busy claim on this one. Like begin_call, a commit around a Stripe call, on purpose.
    """
    finish_call(call, result_id)
    session.commit()


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


def start(session: Session, gw: PaymentGateway, member: Member, cfg: DuesSettings) -> str:
    """Make sure the member is a Stripe customer and open a SetupIntent for their card."""
    account = services.find_account(session, member)
    if account is not None and account.sub_status in PAYING:
        raise Conflict("Your dues are already set up.")
    if account is None or account.customer_id is None:
        with stripe_work(session, member, "customer.create") as call:
            customer_id = gw.create_customer(
                member.email, member.display_name, member.id, call.idempotency_key
            )
            finish_call(call, customer_id)
            account = services.link_customer(session, member, customer_id)
            webhooks.replay_parked(session, cfg, customer_id)
    customer = account.customer_id
    assert customer is not None
    with stripe_work(session, member, "setup_intent.create") as call:
        intent = gw.create_setup_intent(customer, call.idempotency_key)
        finish_call(call, intent["id"])
        account = _locked_account(session, member)
        account.setup_intent_id = intent["id"]
        session.flush()
    return str(intent["id"])


def card_form(session: Session, gw: PaymentGateway, member: Member) -> dict[str, Any] | None:
    """The open SetupIntent the card form confirms, or None when a new one is needed."""
    account = services.find_account(session, member)
    if account is None or not account.setup_intent_id:
        return None
    intent_id = account.setup_intent_id
    _no_locks(session)
    intent = gw.retrieve_setup_intent(intent_id)
    if intent.get("status") not in ("requires_payment_method", "requires_confirmation"):
        return None
    return intent


def _still_to_subscribe(session: Session, member: Member, setup_intent_id: str) -> bool:
    account = services.find_account(session, member)
    if account is None or account.setup_intent_id != setup_intent_id:
        raise DomainError("That card setup is not yours or has expired. Please start again.")
    session.refresh(account)  # a parallel request may have finished since we last looked
    return account.sub_status not in PAYING


def subscribe(
    session: Session, gw: PaymentGateway, member: Member, setup_intent_id: str, cfg: DuesSettings
) -> Member:
    """After the card was confirmed: start the subscription and apply Stripe's answer.

    One subscription per member: the call is claimed first (parallel clicks get Conflict),
    then the account is read again, and only then does Stripe hear about it.
    """
    if not _still_to_subscribe(session, member, setup_intent_id):
        return member
    with stripe_work(session, member, "subscription.create") as call:
        account = services.find_account(session, member)
        assert account is not None
        if account.sub_status in PAYING:  # done by a request that finished just now
            finish_call(call, account.subscription_id or "")
            return member
        customer_id = account.customer_id
        assert customer_id is not None
        _no_locks(session)
        member = _create_subscription(session, gw, member, call, customer_id, setup_intent_id, cfg)
    return member


def _create_subscription(
    session: Session,
    gw: PaymentGateway,
    member: Member,
    call: StripeCall,
    customer_id: str,
    setup_intent_id: str,
    cfg: DuesSettings,
) -> Member:
    intent = gw.retrieve_setup_intent(setup_intent_id)
    if intent.get("customer") != customer_id or intent.get("status") != "succeeded":
        raise DomainError("Your card is not confirmed yet. Please enter it again.")
    plan_id = gw.ensure_plan(cfg.fee_cents, cfg.currency)
    # Claimed per member, keyed per card set-up: after a decline a new card is a new request.
    key = f"{call.idempotency_key}:{setup_intent_id}"
    subscription = gw.subscribe(customer_id, intent["payment_method"], plan_id, key)
    finish_call(call, subscription["id"])
    invoice = subscription.get("latest_invoice")
    paid = isinstance(invoice, dict) and invoice.get("status") == "paid"
    member = news.fulfil(
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
    session: Session, gw: PaymentGateway, member: Member, cancel: bool, cfg: DuesSettings
) -> Member:
    """Cancel at the end of the paid period, or undo that before it takes effect.

    Cancelling ends every subscription the member has at Stripe, not only the one we track
    (older races could leave a second one charging).
    """
    account = _locked_account(session, member)
    subscription_id = account.subscription_id
    customer_id = account.customer_id
    if subscription_id is None or customer_id is None or account.sub_status not in PAYING:
        raise Conflict("You have no running subscription to change.")
    if account.cancel_at_period_end == cancel:
        return member
    stamp = max(int(time.time()), account.snapshot_at, account.status_at)
    with stripe_work(
        session, member, f"subscription.cancel:{subscription_id}:{int(cancel)}"
    ) as call:
        subscription = gw.set_cancel_at_period_end(subscription_id, cancel, call.idempotency_key)
        if cancel:
            for other in gw.live_subscriptions(customer_id):
                if other != subscription_id:
                    gw.set_cancel_at_period_end(other, True, f"{call.idempotency_key}:{other}")
        finish_call(call, subscription["id"])
        return news.fulfil(
            session,
            _locked_account(session, member),
            seen_at=stamp,
            cfg=cfg,
            subscription=subscription,
        )
