"""Dues state and bookings. Plain functions taking a session; they flush, never commit.

`fulfil` (and `apply_news`, which it wraps) is the one path by which Stripe's news (a
webhook, or the API's answer on the return page) changes a member: it is idempotent and
commutative, so running it twice at once, or on events in any order, ends in the same
state:

- status: the newest status wins (Stripe's timestamp, then a lifecycle rank on ties);
- the rest of the subscription snapshot: the newest snapshot wins;
- a paid invoice is booked once, keyed by its id, whenever it arrives;
- `ever_paid` only ever turns on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from market.billing import statements
from market.billing.models import DuesAccount, DuesInvoice
from market.db import utcnow
from market.ledger.services import CLEARING, RESERVE, Move, pool_code, post
from market.members.models import Member, MemberStatus
from market.money import Money, fee_split
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


@dataclass(frozen=True)
class DuesSettings:
    """The dues settings services need (read from the app config by `settings()`)."""

    fee_cents: int = 500
    currency: str = "usd"
    ops_share_bp: int = 1000
    grace_days: int = 14


def settings() -> DuesSettings:
    """The current app's dues settings."""
    cfg = current_app.config
    return DuesSettings(
        cfg["MONTHLY_FEE_CENTS"], cfg["CURRENCY"], cfg["OPS_SHARE_BP"], cfg["GRACE_DAYS"]
    )


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def to_datetime(epoch: int | None) -> datetime | None:
    """Stripe's epoch seconds as an aware UTC datetime."""
    return None if epoch is None else datetime.fromtimestamp(int(epoch), UTC)


def account_for_member(session: Session, member: Member) -> DuesAccount:
    """The member's dues account, created on first use (safe when two requests race)."""
    session.execute(
        _insert(session)(DuesAccount)
        .values(
            member_id=member.id,
            sub_status="none",
            status_at=0,
            cancel_at_period_end=False,
            cancel_requested=False,
            snapshot_at=0,
            ever_paid=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["member_id"])
    )
    return session.scalars(select(DuesAccount).where(DuesAccount.member_id == member.id)).one()


def find_account(session: Session, member: Member) -> DuesAccount | None:
    """The member's dues account, if they ever started paying."""
    return session.scalar(select(DuesAccount).where(DuesAccount.member_id == member.id))


def account_by_customer(
    session: Session, customer_id: str, lock: bool = True
) -> DuesAccount | None:
    """The account of a Stripe customer, locked for update (so fulfil runs one at a time)."""
    query = statements.ACCOUNT_BY_CUSTOMER_LOCKED if lock else statements.ACCOUNT_BY_CUSTOMER
    return session.scalar(query, {"customer_id": customer_id})


def link_customer(session: Session, member: Member, customer_id: str) -> DuesAccount:
    """Record the member's Stripe customer (events parked for it can now be applied)."""
    account = account_for_member(session, member)
    account.customer_id = customer_id
    session.flush()
    return account


def invoice_month(invoice: dict[str, Any]) -> str:
    """The month whose pool an invoice feeds: the start of the period it pays for."""
    lines = (invoice.get("lines") or {}).get("data") or []
    start = None
    if lines and isinstance(lines[0].get("period"), dict):
        start = lines[0]["period"].get("start")
    start = start or invoice.get("period_start") or invoice["created"]
    moment = to_datetime(start)
    assert moment is not None
    return moment.strftime("%Y-%m")


def _paid_at(invoice: dict[str, Any], fallback: int) -> datetime:
    transitions = invoice.get("status_transitions") or {}
    moment = to_datetime(transitions.get("paid_at") or fallback)
    assert moment is not None
    return moment


def book_paid_invoice(
    session: Session, member_id: int, invoice: dict[str, Any], seen_at: int, cfg: DuesSettings
) -> bool:
    """Record a paid invoice and book clearing -> pool/reserve once; True if newly booked."""
    cents = int(invoice.get("amount_paid") or 0)
    currency = str(invoice.get("currency") or cfg.currency).lower()
    month = invoice_month(invoice)
    paid_at = _paid_at(invoice, seen_at)
    _upsert_invoice(session, invoice["id"], member_id, cents, currency, month, "paid", paid_at)
    if cents <= 0:
        return False
    parts = fee_split(Money(cents, currency), cfg.ops_share_bp)
    moves = [Move(CLEARING, pool_code(month), parts.pool.cents)]
    if parts.reserve.cents:
        moves.append(Move(CLEARING, RESERVE, parts.reserve.cents))
    txn = post(
        session,
        f"invoice:{invoice['id']}",
        "dues",
        f"Dues for {month} (invoice {invoice['id']})",
        moves,
        currency,
        occurred_at=paid_at,
        period=month,
    )
    return txn is not None


def _upsert_invoice(
    session: Session,
    invoice_id: str,
    member_id: int,
    cents: int,
    currency: str,
    month: str,
    status: str,
    paid_at: datetime | None,
) -> None:
    """Insert or advance an invoice row; 'paid' is final (an old failure never undoes it)."""
    conn = session.connection()
    conn.execute(
        statements.invoice_upsert(conn.dialect.name, status == "paid"),
        {
            "id": invoice_id,
            "member_id": member_id,
            "amount_cents": cents,
            "currency": currency,
            "month": month,
            "status": status,
            "paid_at": paid_at,
            "created_at": utcnow(),
        },
    )
    if status == "failed":
        session.execute(
            update(DuesInvoice)
            .where(DuesInvoice.id == invoice_id, DuesInvoice.status == "open")
            .values(status="failed")
        )


def apply_status(account: DuesAccount, status: str, at: int) -> None:
    """Take a status if it is newer (ties: the later lifecycle stage) than the one we have."""
    if (at, RANK.get(status, 0)) > (account.status_at, RANK.get(account.sub_status, 0)):
        account.sub_status = status
        account.status_at = at


def apply_snapshot(account: DuesAccount, subscription: dict[str, Any], at: int) -> None:
    """Take a subscription snapshot (status, period, cancellation) if it is the newest."""
    apply_status(account, str(subscription.get("status") or "incomplete"), at)
    if at < account.snapshot_at:
        return
    account.snapshot_at = at
    account.subscription_id = subscription["id"]
    account.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    reason = (subscription.get("cancellation_details") or {}).get("reason")
    account.cancel_requested = account.cancel_at_period_end or reason == "cancellation_requested"
    account.current_period_end = to_datetime(_period_end(subscription))


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
        since = to_datetime(account.status_at)
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


def sync_member(session: Session, account: DuesAccount, cfg: DuesSettings) -> None:
    """Bring the member's status in line with their dues account (one UPDATE, if any)."""
    status, grace_until = derive_member_status(account, cfg.grace_days, utcnow())
    result = session.connection().execute(
        statements.MEMBER_STATUS,
        {"member_id": account.member_id, "new_status": status, "new_grace": grace_until},
    )
    changed = result.rowcount
    member = session.identity_map.get(identity_key(Member, account.member_id))
    if changed and member is not None:
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
    statements.save(session, account)
    sync_member(session, account, cfg)
    if paid and invoice is not None:
        book_paid_invoice(session, account.member_id, invoice, seen_at, cfg)


def _record_failed_invoice(
    session: Session, account: DuesAccount, invoice: dict[str, Any], seen_at: int, cfg: DuesSettings
) -> None:
    _upsert_invoice(
        session,
        invoice["id"],
        account.member_id,
        int(invoice.get("amount_due") or 0),
        str(invoice.get("currency") or cfg.currency).lower(),
        invoice_month(invoice),
        "failed",
        None,
    )
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


def lapse_overdue(session: Session, now: datetime | None = None) -> int:
    """Move past-due members whose grace has ended to lapsed; returns how many (idempotent)."""
    now = now or utcnow()
    members = session.scalars(
        select(Member)
        .where(Member.status == MemberStatus.PAST_DUE.value, Member.grace_until <= now)
        .with_for_update()
    ).all()
    for member in members:
        member.status = MemberStatus.LAPSED.value
    session.flush()
    return len(members)


def paid_invoices(session: Session, member: Member) -> list[DuesInvoice]:
    """The member's invoices, newest first."""
    return list(
        session.scalars(
            select(DuesInvoice)
            .where(DuesInvoice.member_id == member.id)
            .order_by(DuesInvoice.created_at.desc(), DuesInvoice.id)
        )
    )
