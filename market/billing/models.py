"""Dues tables: a member's Stripe subscription, their invoices, inbound events, outbound calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow


class DuesAccount(Base):
    """A member's dues at Stripe: customer, subscription and the newest state we applied.

    Webhooks arrive in any order, so each piece of state remembers the Stripe timestamp of
    the event that set it and older events never override it (see billing.news).
    """

    __tablename__ = "dues_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), unique=True)
    customer_id: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    subscription_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    setup_intent_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # Stripe's subscription status ('none' before there is one) and when (Stripe epoch
    # seconds) the newest status we applied was true.
    sub_status: Mapped[str] = mapped_column(String(24), default="none")
    status_at: Mapped[int] = mapped_column(BigInteger, default=0)
    # The rest of the subscription snapshot, and when it was taken.
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    snapshot_at: Mapped[int] = mapped_column(BigInteger, default=0)
    ever_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    # The card on file as the member recognises it (never more of the card than this).
    card_brand: Mapped[str | None] = mapped_column(String(16), default=None)
    card_last4: Mapped[str | None] = mapped_column(String(4), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DuesInvoice(Base):
    """One Stripe invoice of a member's dues (paid ones are booked in the ledger)."""

    __tablename__ = "dues_invoice"
    __table_args__ = (CheckConstraint("status IN ('open', 'failed', 'paid')", name="status_known"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Stripe's invoice id
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    month: Mapped[str] = mapped_column(String(7), index=True)  # the pool it feeds, "YYYY-MM"
    status: Mapped[str] = mapped_column(String(8))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeEvent(Base):
    """Every webhook event we accepted, inserted in the same transaction as its effect."""

    __tablename__ = "stripe_event"
    __table_args__ = (CheckConstraint("status IN ('processed', 'parked')", name="status_known"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Stripe's event id
    type: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(BigInteger)  # Stripe's timestamp (epoch seconds)
    customer_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), index=True)
    note: Mapped[str] = mapped_column(String(255), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class StripeCall(Base):
    """An outbound Stripe request, with its idempotency key, stored before the call is made.

    A retry after a timeout or crash reuses the pending call's key, so Stripe answers with
    the first attempt's result instead of creating a second customer or subscription.
    """

    __tablename__ = "stripe_call"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done')", name="status_known"),
        # One pending call per member and operation: parallel clicks cannot each start one.
        Index(
            "uq_stripe_call_pending",
            "member_id",
            "operation",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    operation: Mapped[str] = mapped_column(String(64))  # e.g. "subscription.create:seti_1"
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    result_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Set while a request is waiting on Stripe with this call; others keep off until then.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
