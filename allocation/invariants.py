"""Invariants of rounds and payouts: one current ballot per member and round, no ballot
after a round's close, and no channel paid more than it was owed.

Small SQL checks run by `flask --app market check invariants`, the test suite and the load
test (`python -m bench.loadtest`).
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from allocation.models import Ballot, Payout, Round
from market.invariants import register
from market.ledger.models import Account, LedgerTransaction, Posting


def one_current_ballot(session: Session) -> list[str]:
    """A member has at most one current ballot in a round."""
    rows = session.execute(
        select(Ballot.round_id, Ballot.member_id, func.count())
        .where(Ballot.is_current)
        .group_by(Ballot.round_id, Ballot.member_id)
        .having(func.count() > 1)
    ).all()
    return [f"member {m} has {n} current ballots in round {r}" for r, m, n in rows]


def no_ballot_after_close(session: Session) -> list[str]:
    """No ballot was cast after its round's deadline, or after the round was closed."""
    rows = session.execute(
        select(Ballot.id, Round.id)
        .join(Round, Round.id == Ballot.round_id)
        .where(
            (Ballot.cast_at > Round.closes_at)
            | (Round.closed_at.is_not(None) & (Ballot.cast_at > Round.closed_at))
        )
    ).all()
    return [f"ballot {b} was cast after round {r} closed" for b, r in rows]


def payouts_within_owed(session: Session) -> list[str]:
    """No channel's payable goes below zero, and every payout is booked."""
    overpaid = session.execute(
        select(Account.code, func.sum(Posting.amount_cents))
        .join(Posting, Posting.account_id == Account.id)
        .where(Account.code.like("channel:%"))
        .group_by(Account.code)
        .having(func.sum(Posting.amount_cents) < 0)
    ).all()
    key = literal("payout:") + Payout.reference
    unbooked = session.scalars(
        select(Payout.reference)
        .outerjoin(LedgerTransaction, LedgerTransaction.key == key)
        .where(LedgerTransaction.id.is_(None))
    ).all()
    return [f"{code} was paid {-cents} cents more than it was owed" for code, cents in overpaid] + [
        f"payout {ref} is not booked" for ref in unbooked
    ]


def register_all(app: Flask) -> None:
    """Add the rounds' and payouts' checks to `check invariants`."""
    register(app, "at most one current ballot per member per round", one_current_ballot)
    register(app, "no ballot after a round's close", no_ballot_after_close)
    register(app, "payouts never exceed what a channel is owed", payouts_within_owed)
