"""The positions a member took and the proposals they started.

They stay when the member leaves: a decision's record is the co-op's, and it names the
member only through their (erased) profile, so it then reads "Former member".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.personal import stamp
from market.proposals.models import Position, Proposal


def export_positions(session: Session, member_id: int) -> dict[str, Any]:
    positions = session.execute(
        select(Position, Proposal.title)
        .join(Proposal, Proposal.id == Position.proposal_id)
        .where(Position.member_id == member_id)
        .order_by(Position.id)
    ).all()
    started = session.scalars(
        select(Proposal).where(Proposal.author_id == member_id).order_by(Proposal.id)
    ).all()
    return {
        "positions": [
            {"proposal": title, "stance": p.stance, "reason": p.reason} for p, title in positions
        ],
        "proposals_started": [
            {"title": p.title, "body": p.body, "opened_at": stamp(p.created_at)} for p in started
        ],
    }
