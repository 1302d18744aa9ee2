"""Dues settings and accounts. Plain functions taking a session; they flush, never commit.

Stripe's news is applied by `billing.news` (`fulfil`, `apply_news`); paid invoices are
booked by `billing.bookings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from market.billing import statements
from market.billing.models import DuesAccount, DuesInvoice
from market.db import utcnow
from market.members.models import Member, MemberStatus


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
