"""Acquisition reserve tables: its public target (every change kept) and spending decisions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow


class ReserveTarget(Base):
    """What the co-op is saving towards; the latest row is the target (history is public)."""

    __tablename__ = "reserve_target"
    __table_args__ = (CheckConstraint("target_cents >= 0", name="target_nonnegative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    purpose: Mapped[str] = mapped_column(String(200), default="")
    set_by: Mapped[int] = mapped_column(ForeignKey("member.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpendStatus(enum.StrEnum):
    """pending (the decision is open or not yet settled) → booked | not_passed | refused."""

    PENDING = "pending"
    BOOKED = "booked"  # passed with quorum and no block: the transfer is in the books
    NOT_PASSED = "not_passed"  # below quorum, blocked, or not more agree than disagree
    REFUSED = "refused"  # passed, but the reserve held less than the amount: nothing moved


class ReserveSpend(Base):
    """A decision to pay an amount from the reserve to a payee; the transfer follows its close."""

    __tablename__ = "reserve_spend"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('pending', 'booked', 'not_passed', 'refused')", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), unique=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    proposed_by: Mapped[int] = mapped_column(ForeignKey("member.id"))
    status: Mapped[str] = mapped_column(String(12), default=SpendStatus.PENDING.value)
    # Why it ended as it did, in words (the decision's counts, or the reserve's balance).
    outcome: Mapped[str | None] = mapped_column(Text, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def spend_key(proposal_id: int) -> str:
    """The ledger key of a decision's transfer: it books once, however often it runs."""
    return f"decision:{proposal_id}:reserve"
