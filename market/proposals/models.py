"""Proposals (Loomio-style decisions), each member's current position, and its history."""

from __future__ import annotations

import enum
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


class Stance(enum.StrEnum):
    """The four positions a member can take, in the order the page shows them."""

    AGREE = "agree"
    ABSTAIN = "abstain"
    DISAGREE = "disagree"
    BLOCK = "block"


STANCES_SQL = "('agree', 'abstain', 'disagree', 'block')"
# A block must say why; the database refuses an unexplained one even if a service forgot.
BLOCK_NEEDS_REASON = "stance <> 'block' OR (reason IS NOT NULL AND length(trim(reason)) > 0)"


class Proposal(Base):
    """A decision put to the members; open while now < closes_at."""

    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint(
            "(subject_kind IS NULL) = (subject_id IS NULL)", name="subject_kind_and_id_together"
        ),
        Index("ix_proposal_subject", "subject_kind", "subject_id"),
        Index("ix_proposal_closes_at", "closes_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # Markdown, sanitised when rendered
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    results_while_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # An anonymous poll: positions are counted, but nobody (admins included) is shown who
    # took which position or who took none; each member still sees their own.
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once by `proposals close` when it has told the members (not what makes it closed).
    close_noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    outcome: Mapped[str | None] = mapped_column(Text, default=None)
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), default=None)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # What the proposal ratifies, if anything (e.g. 'deal', 42); read by ratification_passed.
    subject_kind: Mapped[str | None] = mapped_column(String(32), default=None)
    subject_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # The exact terms a ratification puts to the members (a deal: offer id, tiers, minimum
    # seats, term, seats priced, monthly and total cents); accepting other terms needs another.
    terms: Mapped[Any] = mapped_column(JSON, default=None, nullable=True)
    # Decisions that move money need a quorum: this share (basis points) of the members in
    # good standing when the proposal opened (`quorum_base`, counted then) must take a
    # position. Both None for other proposals.
    quorum_bp: Mapped[int | None] = mapped_column(Integer, default=None)
    quorum_base: Mapped[int | None] = mapped_column(Integer, default=None)

    def is_open(self, now: datetime) -> bool:
        """Members may take positions until the closing time."""
        return now < self.closes_at


class Position(Base):
    """A member's current position on a proposal: exactly one per member and proposal."""

    __tablename__ = "position"
    __table_args__ = (
        UniqueConstraint("proposal_id", "member_id"),
        CheckConstraint(f"stance IN {STANCES_SQL}", name="stance_known"),
        CheckConstraint(BLOCK_NEEDS_REASON, name="block_has_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    stance: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PositionChange(Base):
    """Every position a member took, in order (append-only history)."""

    __tablename__ = "position_change"
    __table_args__ = (
        CheckConstraint(f"stance IN {STANCES_SQL}", name="stance_known"),
        CheckConstraint(BLOCK_NEEDS_REASON, name="block_has_reason"),
        Index("ix_position_change_proposal", "proposal_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    stance: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
