"""Ledger tables. Postings and transactions are append-only (database triggers refuse change)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    cast,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from market.db import Base, UTCDateTime, utcnow


class AccountSlot(Base):
    """A part of an account's balance that bookings add to side by side.

    Every paid invoice moves money between the same three accounts (Stripe clearing, the
    month's pool, the operations reserve). Were each balance one row, every payment would
    update that row and wait for the payment before it to commit; so a booking on
    PostgreSQL's one-statement path adds to one of SLOTS rows of each account instead
    (`market.ledger.one_statement`), and payments at the same moment land on different rows.
    """

    __tablename__ = "account_slot"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cents: Mapped[int] = mapped_column(BigInteger, default=0)


class Account(Base):
    """Somewhere money can be: the pool of a month, a channel's payable, the clearing account."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. "pool:YYYY-MM"
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # clearing, pool, reserve, channel, vendor, paid
    currency: Mapped[str] = mapped_column(String(3))
    # The balance is a cache of the sum of this account's postings, kept in step by
    # ledger.services and verified by `books check`: this row's part (the general path's
    # bookings) plus its slots' (the one-statement path's).
    base_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_cents: Mapped[int] = column_property(
        base_cents
        + func.coalesce(
            select(cast(func.sum(AccountSlot.cents), BigInteger))
            .where(AccountSlot.account_id == id)
            .correlate_except(AccountSlot)
            .scalar_subquery(),
            0,
        )
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerTransaction(Base):
    """One movement of money, keyed by what caused it so that it is booked at most once."""

    __tablename__ = "ledger_txn"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What caused it, e.g. "invoice:in_123" or "round:7:publish": the idempotency key.
    key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    memo: Mapped[str] = mapped_column(String(255))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The month ('YYYY-MM') the money is for: an invoice's month, a round's, the month a
    # payout pays for (often the month before it was sent). The Books group by it.
    period: Mapped[str] = mapped_column(String(7), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    postings: Mapped[list[Posting]] = relationship(
        back_populates="txn", order_by="Posting.id", lazy="selectin"
    )


class Posting(Base):
    """The change one transaction makes to one account."""

    __tablename__ = "posting"
    __table_args__ = (
        CheckConstraint("amount_cents <> 0", name="nonzero"),
        # Money leaving an account: "was this month's pool shared out yet?" is asked by
        # every paid invoice, and an account's postings are mostly money coming in (a pool
        # takes one per payment of its month, and gives once, when its round is booked).
        Index(
            "ix_posting_outflow",
            "account_id",
            postgresql_where=text("amount_cents < 0"),
            sqlite_where=text("amount_cents < 0"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    txn_id: Mapped[int] = mapped_column(ForeignKey("ledger_txn.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    txn: Mapped[LedgerTransaction] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship(lazy="joined")
