"""Stripe's news applied to a dues account, its member and the books.

`fulfil` (and `apply_news`, which it wraps) is the one path by which Stripe's news (a
webhook, or the API's answer on the return page) changes a member: it is idempotent and
commutative, so running it twice at once, or on events in any order, ends in the same
state:

- status: the newest status wins (Stripe's timestamp, then a lifecycle rank on ties);
- the rest of the subscription snapshot: the newest snapshot wins;
- a paid invoice is booked once, keyed by its id, whenever it arrives (`billing.bookings`);
- `ever_paid` only ever turns on.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from market.billing import bookings, statements
from market.billing.models import DuesAccount
from market.billing.port import ENDED
from market.billing.services import DuesSettings
from market.db import utcnow
from market.members.models import Member, MemberStatus
from market.notifications.services import notify_many

# On equal timestamps the later stage of a subscription's life wins.
RANK = {
    "none": 0,
    "incomplete": 1,
    "trialing": 2,
    "active": 2,
    "past_due": 3,
    "unpaid": 4,
    "incomplete_expired": 5,
    "canceled": 6,
}


def apply_status(account: DuesAccount, status: str, at: int) -> None:
    """Take a status if it is newer (ties: the later lifecycle stage) than the one we have."""
    if (at, RANK.get(status, 0)) > (account.status_at, RANK.get(account.sub_status, 0)):
        account.sub_status = status
        account.status_at = at


def superseded(account: DuesAccount, subscription: dict[str, Any]) -> bool:
    """News that an older subscription ended, after the member started another one.

    A declined first payment leaves an incomplete subscription that Stripe expires a day
    later; by then the member may have subscribed again with another card. That expiry
    (or a stray cancellation of an old subscription) says nothing about the current one.
    """
    current = account.subscription_id
    status = str(subscription.get("status") or "")
    return current is not None and subscription.get("id") != current and status in ENDED


def apply_snapshot(account: DuesAccount, subscription: dict[str, Any], at: int) -> None:
    """Take a subscription snapshot (status, period, cancellation) if it is the newest."""
    if superseded(account, subscription):
        return
    apply_status(account, str(subscription.get("status") or "incomplete"), at)
    if at < account.snapshot_at:
        return
    account.snapshot_at = at
    account.subscription_id = subscription["id"]
    account.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    reason = (subscription.get("cancellation_details") or {}).get("reason")
    account.cancel_requested = account.cancel_at_period_end or reason == "cancellation_requested"
    account.current_period_end = bookings.to_datetime(_period_end(subscription))


def _period_end(subscription: dict[str, Any]) -> int | None:
    # Newer Stripe API versions moved the period onto the subscription's items.
    if subscription.get("current_period_end"):
        return int(subscription["current_period_end"])
    items = (subscription.get("items") or {}).get("data") or []
    if items and items[0].get("current_period_end"):
        return int(items[0]["current_period_end"])
    return None


def derive_member_status(
    account: DuesAccount, grace_days: int, now: datetime
) -> tuple[str, datetime | None]:
    """What the member's status should be given the account's state (and grace_until)."""
    status = account.sub_status
    if status in ("active", "trialing"):
        return MemberStatus.ACTIVE.value, None
    if not account.ever_paid:
        return MemberStatus.PENDING.value, None
    if status == "past_due":
        since = bookings.to_datetime(account.status_at)
        assert since is not None
        grace_until = since + timedelta(days=grace_days)
        if now >= grace_until:
            return MemberStatus.LAPSED.value, grace_until
        return MemberStatus.PAST_DUE.value, grace_until
    if status == "canceled":
        cancelled = account.cancel_requested
        return (MemberStatus.CANCELLED if cancelled else MemberStatus.LAPSED).value, None
    if status in ("unpaid", "incomplete_expired"):
        return MemberStatus.LAPSED.value, None
    return MemberStatus.PENDING.value, None


def save(session: Session, account: DuesAccount, cfg: DuesSettings) -> None:
    """Write the account's new state and bring its member's status in line with it."""
    status, grace_until = derive_member_status(account, cfg.grace_days, utcnow())
    if statements.save_and_sync(session, account, status, grace_until):
        _forget_member(session, account.member_id)


def _forget_member(session: Session, member_id: int) -> None:
    """Expire a loaded member's status, written behind the ORM's back."""
    member = session.identity_map.get(identity_key(Member, member_id))
    if member is not None:
        session.expire(member, ["status", "grace_until"])


def fulfil(
    session: Session,
    account: DuesAccount,
    *,
    seen_at: int,
    cfg: DuesSettings,
    subscription: dict[str, Any] | None = None,
    invoice: dict[str, Any] | None = None,
    invoice_event: str = "paid",
) -> Member:
    """Apply what Stripe told us (see `apply_news`) and return the member, up to date."""
    apply_news(
        session,
        account,
        seen_at=seen_at,
        cfg=cfg,
        subscription=subscription,
        invoice=invoice,
        invoice_event=invoice_event,
    )
    member = session.get(Member, account.member_id)
    assert member is not None
    return member


def apply_news(
    session: Session,
    account: DuesAccount,
    *,
    seen_at: int,
    cfg: DuesSettings,
    subscription: dict[str, Any] | None = None,
    invoice: dict[str, Any] | None = None,
    invoice_event: str = "paid",
) -> None:
    """Apply what Stripe told us (return page or webhook) to the account, books and member.

    The booking comes last: it updates the shared pool and reserve rows, whose locks are
    then held only until the commit that follows.
    """
    if subscription is not None:
        apply_snapshot(account, subscription, seen_at)
    paid = invoice is not None and invoice_event == "paid"
    if paid and invoice is not None:
        account.ever_paid = True
        if invoice.get("subscription") or invoice.get("parent"):
            apply_status(account, "active", seen_at)
    elif invoice is not None:
        _record_failed_invoice(session, account, invoice, seen_at, cfg)
    carried = None
    if paid:  # on PostgreSQL the account's new state rides with the invoice's statement
        status, grace_until = derive_member_status(account, cfg.grace_days, utcnow())
        carried = statements.carried_state(session, account, status, grace_until)
    if carried is None:
        save(session, account, cfg)
    else:
        _forget_member(session, account.member_id)
    if paid and invoice is not None:
        bookings.book_paid_invoice(session, account.member_id, invoice, seen_at, cfg, carried)


def _record_failed_invoice(
    session: Session, account: DuesAccount, invoice: dict[str, Any], seen_at: int, cfg: DuesSettings
) -> None:
    bookings.record_failed_invoice(session, account.member_id, invoice, cfg)
    # A failed first payment leaves the subscription incomplete (the member stays
    # pending); a failed renewal makes it past due.
    if invoice.get("billing_reason") != "subscription_create":
        apply_status(account, "past_due", seen_at)
        _tell_payment_failed(session, account, str(invoice["id"]), cfg)


def _tell_payment_failed(
    session: Session, account: DuesAccount, invoice_id: str, cfg: DuesSettings
) -> None:
    # Keyed by the invoice: Stripe's retries and replayed webhooks tell the member once.
    member = session.get(Member, account.member_id)
    if member is None:
        return
    notify_many(
        session,
        [member],
        "dues.payment_failed",
        "Your dues payment failed",
        f"We could not take this month's dues from your card. You stay a member for a "
        f"grace period of {cfg.grace_days} days; update your card or pay now to keep your "
        "membership and licences.",
        "/dues",
        event_key=f"payment-failed:{invoice_id}",
    )
