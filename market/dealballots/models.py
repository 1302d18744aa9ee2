"""Deal ballot tables: a ballot over candidate deals, its candidates, and members' approvals."""

from __future__ import annotations

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
)
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow

RULE = "mes-add1u"


class DealBallot(Base):
    """Members approve the candidate deals they would use; Equal Shares picks what is bought."""

    __tablename__ = "deal_ballot"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'published')", name="status_known"),
        CheckConstraint("budget_cents >= 1", name="budget_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    rule: Mapped[str] = mapped_column(String(16), default=RULE)
    # What the admin set (at most the channel's balance then); the close uses at most
    # what the channel still holds.
    budget_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written once by the close that won the status flip.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    budget_used_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    spent_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    ballots_counted: Mapped[int | None] = mapped_column(Integer, default=None)
    approvals_counted: Mapped[int | None] = mapped_column(Integer, default=None)
    audit_head: Mapped[str | None] = mapped_column(String(64), default=None)


class DealBallotCandidate(Base):
    """A deal on a ballot, with its cost for the period and (after the close) its outcome."""

    __tablename__ = "deal_ballot_candidate"
    __table_args__ = (
        UniqueConstraint("ballot_id", "deal_id", name="uq_deal_ballot_candidate"),
        CheckConstraint("cost_cents >= 1", name="cost_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("deal_ballot.id"), index=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))  # as put to the members
    cost_cents: Mapped[int] = mapped_column(Integer)
    approvals: Mapped[int | None] = mapped_column(Integer, default=None)
    funded: Mapped[bool | None] = mapped_column(Boolean, default=None)
    greedy_funded: Mapped[bool | None] = mapped_column(Boolean, default=None)
    reason: Mapped[str] = mapped_column(Text, default="")


class DealBallotVote(Base):
    """One member's approvals on one ballot (replaced when they change their mind)."""

    __tablename__ = "deal_ballot_vote"
    __table_args__ = (
        UniqueConstraint("ballot_id", "member_id", name="uq_deal_ballot_vote_member"),
        Index("ix_deal_ballot_vote_receipt", "ballot_id", "receipt"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("deal_ballot.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    # Approved deal ids, ascending, separated by spaces: the canonical text in the receipt.
    approvals: Mapped[str] = mapped_column(Text)
    receipt: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
