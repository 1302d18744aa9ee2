"""A member's approvals on deal ballots; leaving withdraws those on ballots still open.

Approvals on published ballots stay: they are counted in a published outcome, and the
audit file holds them under a receipt, never a member id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from market.dealballots.models import DealBallot, DealBallotVote
from market.personal import stamp


def export_approvals(session: Session, member_id: int) -> list[dict[str, Any]]:
    """Every deal ballot the member approved deals on, with the receipt."""
    rows = session.execute(
        select(DealBallotVote, DealBallot.title, DealBallot.status)
        .join(DealBallot, DealBallot.id == DealBallotVote.ballot_id)
        .where(DealBallotVote.member_id == member_id)
        .order_by(DealBallotVote.created_at, DealBallotVote.id)
    ).all()
    return [
        {
            "ballot": title,
            "ballot_status": status,
            "approved_deal_ids": [int(d) for d in vote.approvals.split()],
            "receipt": vote.receipt,
            "salt": vote.salt,
            "updated_at": stamp(vote.updated_at),
        }
        for vote, title, status in rows
    ]


def erase_approvals(session: Session, member_id: int, now: datetime) -> None:
    """Withdraw the member's approvals on open ballots (published ones are the record)."""
    still_open = select(DealBallot.id).where(DealBallot.status == "open")
    session.execute(
        delete(DealBallotVote)
        .where(DealBallotVote.member_id == member_id, DealBallotVote.ballot_id.in_(still_open))
        .execution_options(synchronize_session=False)
    )
