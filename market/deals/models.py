"""Deal tables: wants, deals, offers, history, vendor links and group-buy commitments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow

STATUSES = (
    "'draft', 'requested', 'offered', 'countered', 'accepted', 'rejected', "
    "'withdrawn', 'active', 'lapsed', 'expired'"
)


class WantRequest(Base):
    """Software a member asked for ("I would use this"); others add their want to it."""

    __tablename__ = "want_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    maker: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # The channel whose bundle it would fit (its steward would carry it); demand per channel.
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Want(Base):
    """One member wanting one request (at most once)."""

    __tablename__ = "want"
    __table_args__ = (UniqueConstraint("request_id", "member_id", name="uq_want_request_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("want_request.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Deal(Base):
    """The co-op negotiating to buy seats of a product from its vendor, paid by a channel."""

    __tablename__ = "deal"
    __table_args__ = (
        CheckConstraint(f"status IN ({STATUSES})", name="status_known"),
        CheckConstraint("seats_wanted >= 1 AND term_months >= 1", name="positive_terms"),
        CheckConstraint(
            "NOT group_buy OR (min_members >= 1 AND deadline IS NOT NULL)", name="group_buy_terms"
        ),
        CheckConstraint("cost_cents IS NULL OR cost_cents >= 0", name="cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    want_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("want_request.id"), default=None, index=True
    )
    seats_wanted: Mapped[int] = mapped_column(Integer)
    term_months: Mapped[int] = mapped_column(Integer, default=12)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Why the co-op deals with a market leader (required when the vendor is one).
    justification: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    group_buy: Mapped[bool] = mapped_column(Boolean, default=False)
    min_members: Mapped[int | None] = mapped_column(Integer, default=None)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The offer whose terms were accepted (no FK: deal and deal_offer refer to each other).
    accepted_offer_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # The deal ballot it was put to (no FK, as above): settled by that ballot's close only.
    ballot_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    # What settling bought: written once, by the run that won the settle lock.
    seats_bought: Mapped[int | None] = mapped_column(Integer, default=None)
    cost_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_by: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DealOffer(Base):
    """An offer (from the vendor) or counter-offer (from the co-op); kept forever."""

    __tablename__ = "deal_offer"
    __table_args__ = (
        CheckConstraint("party IN ('vendor', 'admin')", name="party_known"),
        CheckConstraint("min_seats >= 1 AND term_months >= 1", name="positive_terms"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), index=True)
    party: Mapped[str] = mapped_column(String(8))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), default=None)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("vendor_link.id"), default=None)
    # [[from_seats, per_seat_cents], ...], validated by market.deals.tiers before writing.
    tiers: Mapped[Any] = mapped_column(JSON)
    min_seats: Mapped[int] = mapped_column(Integer)
    term_months: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DealEvent(Base):
    """One move in a deal's life: who, when, from, to, and a note."""

    __tablename__ = "deal_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(8))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(45), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VendorLink(Base):
    """A private link for the vendor: only the token's SHA-256 is stored."""

    __tablename__ = "vendor_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_ip: Mapped[str | None] = mapped_column(String(45), default=None)


class Commitment(Base):
    """A member committing to a group buy (one per member per deal; withdrawing deletes it)."""

    __tablename__ = "deal_commitment"
    __table_args__ = (
        UniqueConstraint("deal_id", "member_id", name="uq_deal_commitment_deal_member"),
        Index("ix_deal_commitment_member", "member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
