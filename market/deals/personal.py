"""A member's wants and group-buy commitments; leaving takes back the ones still open."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from market.deals import groupbuy
from market.deals.models import Commitment, Deal, Want, WantRequest
from market.errors import Conflict
from market.members.models import Member
from market.personal import stamp


def export_demand(session: Session, member_id: int) -> dict[str, Any]:
    wants = session.execute(
        select(Want.created_at, WantRequest.title)
        .join(WantRequest, WantRequest.id == Want.request_id)
        .where(Want.member_id == member_id)
        .order_by(Want.created_at)
    ).all()
    commitments = session.execute(
        select(Commitment.created_at, Deal.title, Deal.status)
        .join(Deal, Deal.id == Commitment.deal_id)
        .where(Commitment.member_id == member_id)
        .order_by(Commitment.created_at)
    ).all()
    return {
        "wants": [{"software": title, "since": stamp(at)} for at, title in wants],
        "group_buy_commitments": [
            {"deal": title, "deal_status": status, "committed_at": stamp(at)}
            for at, title, status in commitments
        ],
    }


def erase_demand(session: Session, member_id: int, now: datetime) -> None:
    """Wants go; commitments to group buys still collecting are withdrawn (settled ones stay)."""
    member = session.get(Member, member_id)
    assert member is not None
    session.execute(delete(Want).where(Want.member_id == member_id))
    for deal in session.scalars(
        select(Deal)
        .join(Commitment, Commitment.deal_id == Deal.id)
        .where(Commitment.member_id == member_id)
    ).all():
        # No longer collecting: the commitment is part of a settled buy's record.
        with contextlib.suppress(Conflict):
            groupbuy.withdraw(session, member, deal, now)
    session.flush()
