"""Budget-round tables: rounds, eligible voters, ballots (every revision), tallies, payouts."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow


class Rule(enum.StrEnum):
    """How a round turns ballots into a split."""

    INDEPENDENT_MARKETS = "independent_markets"
    CONSENSUS = "consensus"
    MEAN = "mean"


RULE_LABELS = {
    Rule.INDEPENDENT_MARKETS: "Independent Markets",
    Rule.CONSENSUS: "VoterMedia consensus",
    Rule.MEAN: "Mean",
}


class RoundStatus(enum.StrEnum):
    """open → closing (claimed) → closed (tallied) → published (booked, audit file written)."""

    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"
    PUBLISHED = "published"


class Round(Base):
    """One month's budget vote. The status doubles as the close job's stage, so a rerun resumes."""

    __tablename__ = "round"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'closing', 'closed', 'published')", name="status_known"
        ),
        CheckConstraint("rule IN ('independent_markets', 'consensus', 'mean')", name="rule_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(7), unique=True)  # "YYYY-MM"
    rule: Mapped[str] = mapped_column(String(24), default=Rule.INDEPENDENT_MARKETS.value)
    status: Mapped[str] = mapped_column(String(12), default=RoundStatus.OPEN.value)
    currency: Mapped[str] = mapped_column(String(3))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    eligible_count: Mapped[int] = mapped_column(Integer, default=0)
    # Filled in by the close job.
    pool_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    ballots_counted: Mapped[int | None] = mapped_column(Integer, default=None)
    close_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The close job's claim: a second run is refused while the lease is live; a crashed run's
    # lease is cleared on the way out (or expires), and the rerun resumes from `status`.
    close_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    close_token: Mapped[str | None] = mapped_column(String(32), default=None)
    audit_head: Mapped[str | None] = mapped_column(String(64), default=None)
    audit_rows: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoundChannel(Base):
    """A channel on a round's ballot (the channels active when the round opened)."""

    __tablename__ = "round_channel"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), primary_key=True)
    # The channel's name when the round was published: the audit file prints this, so a
    # later rename never changes a published file's bytes.
    name: Mapped[str | None] = mapped_column(String(80), default=None)


class RoundVoter(Base):
    """Snapshot of who was in good standing when the round opened, with their class then."""

    __tablename__ = "round_voter"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    member_class: Mapped[str] = mapped_column(String(16))


class ClassWeight(Base):
    """How much a ballot of one member class counts in one round (default 1)."""

    __tablename__ = "round_class_weight"
    __table_args__ = (CheckConstraint("weight_milli >= 0", name="weight_nonnegative"),)

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), primary_key=True)
    member_class: Mapped[str] = mapped_column(String(16), primary_key=True)
    weight_milli: Mapped[int] = mapped_column(Integer)  # 1000 = weight 1


class Ballot(Base):
    """One revision of a member's split in a round; exactly one revision per member is current."""

    __tablename__ = "ballot"
    __table_args__ = (
        Index(
            "uq_ballot_current",
            "round_id",
            "member_id",
            unique=True,
            sqlite_where=text("is_current"),
            postgresql_where=text("is_current"),
        ),
        Index("ix_ballot_round_receipt", "round_id", "receipt"),
        # The audit file's rows in receipt order from the index alone (an index-only scan
        # on PostgreSQL: no heap visit per ballot, no sort).
        Index(
            "ix_ballot_audit",
            "round_id",
            "receipt",
            postgresql_include=["member_class", "split"],
            postgresql_where=text("is_current AND NOT abstain"),
            sqlite_where=text("is_current AND NOT abstain"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    member_class: Mapped[str] = mapped_column(String(16))
    # Canonical split "channel_id:bp,..." by channel id, zero shares left out; "" = abstain.
    split: Mapped[str] = mapped_column(String(400), default="")
    abstain: Mapped[bool] = mapped_column(Boolean, default=False)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    carried_over: Mapped[bool] = mapped_column(Boolean, default=False)
    # sha256(round id, ballot id, split, salt). The salt keeps the public receipt from being
    # recomputed by anyone else; it is kept so the member can see it again (My receipts) and
    # recompute their receipt. Keeping it links nothing new: this row names the member anyway.
    receipt: Mapped[str | None] = mapped_column(String(64), default=None)
    salt: Mapped[str | None] = mapped_column(String(32), default=None)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BallotShare(Base):
    """The positive shares of *current* ballots only: the table the tally GROUPs BY."""

    __tablename__ = "ballot_share"
    __table_args__ = (
        CheckConstraint("bp > 0 AND bp <= 10000", name="bp_range"),
        Index("ix_ballot_share_tally", "round_id", "channel_id", "bp", "member_class"),
    )

    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballot.id"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    member_class: Mapped[str] = mapped_column(String(16))
    bp: Mapped[int] = mapped_column(Integer)


class RoundResult(Base):
    """A channel's outcome in a closed round, and what the plain mean would have given."""

    __tablename__ = "round_result"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), primary_key=True)
    share: Mapped[float] = mapped_column(Float)
    cents: Mapped[int] = mapped_column(BigInteger)
    mean_share: Mapped[float] = mapped_column(Float)
    mean_cents: Mapped[int] = mapped_column(BigInteger)


class Payout(Base):
    """Money the co-op sent a channel, against what the channel is owed."""

    __tablename__ = "payout"
    __table_args__ = (CheckConstraint("cents > 0", name="positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("member.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
