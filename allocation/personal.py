"""A member's ballots and receipts; leaving withdraws the split that still stands.

Published rounds keep their ballots: the audit files and the books were computed from them
and hold receipts and splits, not names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from allocation.models import Ballot, BallotShare, Round, RoundStatus
from market.personal import stamp


def export_ballots(session: Session, member_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Ballot, Round.period)
        .join(Round, Round.id == Ballot.round_id)
        .where(Ballot.member_id == member_id)
        .order_by(Ballot.cast_at, Ballot.id)
    ).all()
    return [
        {
            "round": period,
            "cast_at": stamp(b.cast_at),
            "split_bp": b.split,
            "abstained": b.abstain,
            "current": b.is_current,
            "carried_over": b.carried_over,
            "receipt": b.receipt,
            "salt": b.salt,
        }
        for b, period in rows
    ]


def erase_ballots(session: Session, member_id: int, now: datetime) -> None:
    # Locked as a vote locks its round, so a close cannot count the ballot half withdrawn.
    open_rounds = session.scalars(
        select(Round.id).where(Round.status == RoundStatus.OPEN.value).with_for_update(read=True)
    ).all()
    standing = session.scalars(
        select(Ballot).where(
            Ballot.member_id == member_id, Ballot.is_current, Ballot.round_id.in_(open_rounds)
        )
    ).all()
    for ballot in standing:
        session.execute(delete(BallotShare).where(BallotShare.ballot_id == ballot.id))
        ballot.is_current = False
    session.flush()
