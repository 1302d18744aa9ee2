"""Catalogue tables (channels, vendors, products, licences, claims)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow


class ChannelKind(enum.StrEnum):
    """What a channel on the ballot is."""

    BUNDLE = "bundle"  # a bundler's channel: holds products, is paid out
    # The co-op's own acquisition reserve: on the ballot like a channel, holds no products,
    # is never paid out; its money moves only by a passed decision (market.reserve).
    RESERVE = "reserve"


class Channel(Base):
    """A competing software bundle (a bundler with a steward) that members fund by vote."""

    __tablename__ = "channel"
    __table_args__ = (
        CheckConstraint("kind IN ('bundle', 'reserve')", name="kind_known"),
        # One acquisition reserve at most.
        Index(
            "uq_channel_one_reserve",
            "kind",
            unique=True,
            sqlite_where=text("kind = 'reserve'"),
            postgresql_where=text("kind = 'reserve'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    steward_contact: Mapped[str] = mapped_column(String(254), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[str] = mapped_column(
        String(16), default=ChannelKind.BUNDLE.value, server_default=ChannelKind.BUNDLE.value
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Vendor(Base):
    """A software maker, with its share of its category's market (basis points)."""

    __tablename__ = "vendor"
    __table_args__ = (CheckConstraint("market_share_bp BETWEEN 0 AND 10000", name="share_range"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    website: Mapped[str] = mapped_column(String(254), default="")
    # Where the co-op emails the vendor (a counter-offer to answer); empty: nobody.
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    category: Mapped[str] = mapped_column(String(80), index=True)
    market_share_bp: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductKind(enum.StrEnum):
    """How a product is handed to members."""

    KEY = "key"  # a pool of licence keys, one per claim
    SEAT = "seat"  # a counted pool of seats on the vendor's service
    LINK = "link"  # a redemption link (per-claim token), no stock to run out


class Product(Base):
    """Something the co-op holds and members may claim (one live claim per member)."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("kind IN ('key', 'seat', 'link')", name="kind_known"),
        # The seat counter can never oversell, whatever the application does.
        CheckConstraint("seats_used >= 0 AND seats_used <= seats_total", name="seats_within"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    category: Mapped[str] = mapped_column(String(80), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(8))
    reassignable: Mapped[bool] = mapped_column(Boolean, default=True)
    seats_total: Mapped[int] = mapped_column(Integer, default=0)
    seats_used: Mapped[int] = mapped_column(Integer, default=0)
    redemption_url: Mapped[str] = mapped_column(String(500), default="")
    # Why the co-op lists a market leader's product (required for leaders, kept and shown).
    justification: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KeyStatus(enum.StrEnum):
    """Where a licence key is."""

    AVAILABLE = "available"
    CLAIMED = "claimed"
    RETIRED = "retired"  # released from a non-reassignable product: never handed out again


class LicenceKey(Base):
    """One licence key in a product's pool. The value is secret: see __repr__."""

    __tablename__ = "licence_key"
    __table_args__ = (
        UniqueConstraint("product_id", "value", name="uq_licence_key_product_value"),
        CheckConstraint("status IN ('available', 'claimed', 'retired')", name="status_known"),
        Index("ix_licence_key_product_status", "product_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    value: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12), default=KeyStatus.AVAILABLE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        # Never the value: reprs end up in logs and tracebacks.
        return f"<LicenceKey id={self.id} product={self.product_id} status={self.status}>"


LIVE = text("released_at IS NULL")


class Claim(Base):
    """A member holding a licence; live until released (by the member or by reclaim)."""

    __tablename__ = "claim"
    __table_args__ = (
        # One live claim per key, one live claim per member per product: the database,
        # not the application, has the last word when requests race.
        Index(
            "uq_claim_live_key",
            "licence_key_id",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index(
            "uq_claim_live_member_product",
            "member_id",
            "product_id",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        CheckConstraint(
            "end_reason IS NULL OR end_reason IN ('released', 'reclaimed')", name="end_known"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    licence_key_id: Mapped[int | None] = mapped_column(ForeignKey("licence_key.id"))
    link_token: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    end_reason: Mapped[str | None] = mapped_column(String(12), default=None)
    # Set when ending this claim burnt its stock (a retired key, a seat never given back):
    # the same member claiming again gets that licence back instead of a fresh one.
    stock_retired: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<Claim id={self.id} member={self.member_id} product={self.product_id}>"


class WaitlistEntry(Base):
    """A member waiting for a sold-out product (one entry each; removed once told)."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        UniqueConstraint("product_id", "member_id", name="uq_waitlist_product_member"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
