"""The licences a member holds and held; leaving the co-op gives the live ones back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from catalog.claims import release
from catalog.models import Claim, LicenceKey, Product, WaitlistEntry
from market.members.models import Member
from market.personal import stamp


def export_claims(session: Session, member_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Claim, Product.name, LicenceKey.value)
        .join(Product, Product.id == Claim.product_id)
        .outerjoin(LicenceKey, LicenceKey.id == Claim.licence_key_id)
        .where(Claim.member_id == member_id)
        .order_by(Claim.claimed_at, Claim.id)
    ).all()
    return [
        {
            "product": name,
            "claimed_at": stamp(claim.claimed_at),
            "released_at": stamp(claim.released_at),
            "ended_because": claim.end_reason,
            # The key is the member's own while they hold it; given back, it is not theirs.
            "key": value if claim.released_at is None else None,
        }
        for claim, name, value in rows
    ]


def erase_claims(session: Session, member_id: int, now: datetime) -> None:
    member = session.get(Member, member_id)
    assert member is not None
    live = session.scalars(
        select(Claim.id).where(Claim.member_id == member_id, Claim.released_at.is_(None))
    ).all()
    for claim_id in live:
        release(session, member, claim_id, now)


def export_waitlist(session: Session, member_id: int) -> list[dict[str, Any]]:
    """The sold-out products the member waits for."""
    rows = session.execute(
        select(Product.name, WaitlistEntry.created_at)
        .join(Product, Product.id == WaitlistEntry.product_id)
        .where(WaitlistEntry.member_id == member_id)
        .order_by(WaitlistEntry.id)
    ).all()
    return [{"product": name, "since": stamp(at)} for name, at in rows]


def erase_waitlist(session: Session, member_id: int, now: datetime) -> None:
    """Leaving ends the member's waiting."""
    session.execute(delete(WaitlistEntry).where(WaitlistEntry.member_id == member_id))
