"""The decisions card on the member's home page."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.home import HomeCard
from market.members.models import Member
from market.proposals.models import Position, Proposal


def decisions_card(session: Session, member: Member) -> HomeCard | None:
    """Open proposals, and how many still wait for this member's position."""
    now = utcnow()
    open_ids = select(Proposal.id).where(Proposal.closes_at > now)
    total = session.scalar(select(func.count()).select_from(open_ids.subquery())) or 0
    if not total:
        return None
    mine = (
        session.scalar(
            select(func.count())
            .select_from(Position)
            .where(Position.member_id == member.id, Position.proposal_id.in_(open_ids))
        )
        or 0
    )
    waiting = total - mine
    plural = "proposal is" if total == 1 else "proposals are"
    text = f"{total} {plural} open"
    text += (
        f"; {waiting} still without your position."
        if waiting
        else "; you have taken a position on each."
    )
    return HomeCard(
        "Decisions", text, "Take part", url_for("proposals.proposal_list"), urgent=bool(waiting)
    )
