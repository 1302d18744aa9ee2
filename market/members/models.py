"""The member table."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Integer,
    String,
    and_,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow


class MemberClass(enum.StrEnum):
    """The co-op is multi-stakeholder: consumers, and the co-op's own workers."""

    CONSUMER = "consumer"
    WORKER = "worker"


class MemberStatus(enum.StrEnum):
    """Where a member stands with their dues."""

    PENDING = "pending"  # signed up, first payment not yet confirmed
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a payment failed; keeps access until grace_until
    LAPSED = "lapsed"
    CANCELLED = "cancelled"


class Member(Base):
    """A person in the co-op (admins are members with a flag)."""

    __tablename__ = "member"
    __table_args__ = (
        CheckConstraint("member_class IN ('consumer', 'worker')", name="member_class_known"),
        CheckConstraint(
            "status IN ('pending', 'active', 'past_due', 'lapsed', 'cancelled')",
            name="status_known",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    member_class: Mapped[str] = mapped_column(String(16), default=MemberClass.CONSUMER.value)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.PENDING.value)
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Whether emails may quote what other members wrote (proposal titles, outcomes); off
    # unless the member turns it on: the co-op's address never carries a member's words
    # to someone who did not ask for them.
    email_member_text: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the member proved they read this address (a link sent to it); None: not yet.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Set when the member deleted their account: the row stays, their personal data does not.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # flask-login protocol
    is_active = True
    is_anonymous = False
    is_authenticated = True

    def get_id(self) -> str:
        """Session identifier for flask-login."""
        return str(self.id)

    def in_good_standing(self, now: datetime | None = None) -> bool:
        """Active, or past due but still within the grace period."""
        if self.status == MemberStatus.ACTIVE:
            return True
        if self.status == MemberStatus.PAST_DUE and self.grace_until is not None:
            return (now or utcnow()) < self.grace_until
        return False

    def start_grace(self, days: int, now: datetime | None = None) -> None:
        """Mark past due with a grace period that ends `days` from now."""
        self.status = MemberStatus.PAST_DUE.value
        self.grace_until = (now or utcnow()) + timedelta(days=days)


class MemberSession(Base):
    """One logged-in browser: its cookie (and remember cookie) carry the token, we keep a hash.

    Deleting the row ends that session on every host at once (logout, password change...).
    """

    __tablename__ = "member_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def good_standing(now: datetime) -> ColumnElement[bool]:
    """SQL for Member.in_good_standing(now): active, or past due within the grace period."""
    return or_(
        Member.status == MemberStatus.ACTIVE.value,
        and_(Member.status == MemberStatus.PAST_DUE.value, Member.grace_until > now),
    )


class ApiToken(Base):
    """A personal access token for the JSON API: shown once, kept as its SHA-256 only.

    `scope` is one of read < member < admin (each includes the ones before it); the admin
    scope is only ever given to admins, and is checked against the member again at each use.
    """

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint("scope IN ('read', 'member', 'admin')", name="scope_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token (after its prefix), so a member can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
