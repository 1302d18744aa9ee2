"""What the reserve holds about a member: the spending decisions they proposed, the targets set.

They stay when the member leaves: they are the co-op's record of its money, and they name
the member only through their (erased) profile.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Vendor
from market.personal import stamp
from market.reserve.models import ReserveSpend, ReserveTarget


def export_reserve(session: Session, member_id: int) -> dict[str, Any]:
    """The member's spending proposals and, for an admin, the targets they set."""
    spends = session.execute(
        select(ReserveSpend, Vendor.name)
        .join(Vendor, Vendor.id == ReserveSpend.vendor_id)
        .where(ReserveSpend.proposed_by == member_id)
        .order_by(ReserveSpend.id)
    ).all()
    targets = session.scalars(
        select(ReserveTarget).where(ReserveTarget.set_by == member_id).order_by(ReserveTarget.id)
    ).all()
    return {
        "spends_proposed": [
            {
                "decision": s.proposal_id,
                "payee": vendor,
                "amount_cents": s.amount_cents,
                "currency": s.currency,
                "status": s.status,
                "proposed_at": stamp(s.created_at),
            }
            for s, vendor in spends
        ],
        "targets_set": [
            {"target_cents": t.target_cents, "purpose": t.purpose, "set_at": stamp(t.set_at)}
            for t in targets
        ],
    }
