"""Notification (a member's inbox item), OutboxMessage (an email waiting to be sent), and
what each member chose to receive (preferences by kind and channel, the daily digest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow


class Notification(Base):
    """Something a member should know about; unread until they open or dismiss it."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_member_unread", "member_id", "read_at"),
        # One notice per member per event (e.g. 'round-7:closing'): re-runs add nothing.
        UniqueConstraint("member_id", "event_key", name="uq_notification_member_event"),
        Index("ix_notification_event", "event_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))  # e.g. 'proposal.outcome', for filtering
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500), default=None)  # a site-relative path
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    event_key: Mapped[str | None] = mapped_column(String(120), default=None)
    # False when the member turned this kind off in the inbox (kept for the event key only).
    shown: Mapped[bool] = mapped_column(Boolean, default=True)


class OutboxMessage(Base):
    """An email to deliver; `sent_at` is set in the same transaction that delivers it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_unsent", "sent_at", "id"),
        Index("ix_outbox_message_held", "held_for_digest", "member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), default=None
    )
    # What the email is about ('digest' for a daily digest); its unsubscribe link, made
    # at sending time from member_id (or to_email) and kind, stops that kind.
    kind: Mapped[str] = mapped_column(String(40), default="")
    # Failed sends so far; at SMTP_MAX_ATTEMPTS the message is given up (gave_up_at).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Waiting for the member's daily digest instead of going out on its own.
    held_for_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    # The digest that carried it: no foreign key, as the digest row comes after the rows it
    # carries (an archive restores rows in id order).
    digest_id: Mapped[int | None] = mapped_column(Integer, default=None)


class NotificationPreference(Base):
    """A member's choice for one kind of notice (rows exist only where they chose)."""

    __tablename__ = "notification_preference"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    inbox: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)


class NotificationSettings(Base):
    """A member's email settings that are not per kind (the daily digest)."""

    __tablename__ = "notification_settings"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailSuppression(Base):
    """An address that is not a member's (a vendor's contact) and asked for no more email."""

    __tablename__ = "email_suppression"

    address: Mapped[str] = mapped_column(String(254), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
