"""What happens for members once a deal buys seats: seats reserved, wants answered.

* Group buy, seat product: each committed member in good standing gets a seat claimed for
  them on tipping (the seats were bought because they committed), before anyone else can
  claim one. Key products: the keys are due from the vendor, so nothing can be claimed
  yet; the committed members are told to claim when they arrive.
* A deal answering a want request: the co-op now holds the software, so the request
  leaves the most-wanted list (demand.most_wanted skips requests with an active deal) and
  the members who wanted it are told.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import claims, waitlist
from catalog.models import Product, ProductKind
from market.deals.models import Deal, Want, WantRequest
from market.errors import DomainError
from market.members.models import Member, good_standing
from market.notifications.services import notify_many


def reserve_seats(
    session: Session, deal: Deal, product: Product, members: list[Member], now: datetime
) -> list[int]:
    """Claim a seat for each committed member (one each; holders keep theirs); who got one."""
    if product.kind != ProductKind.SEAT:
        return []
    got = []
    for member in members:
        try:
            claims.claim(session, member, product.id, now)
        except DomainError:
            continue  # already holds one, or no longer in good standing
        got.append(member.id)
    return got


def answer_wants(session: Session, deal: Deal, product: Product, skip: set[int]) -> int:
    """Tell the members who wanted the request this deal answers; how many were told."""
    if deal.want_request_id is None:
        return 0
    request = session.get(WantRequest, deal.want_request_id)
    if request is None:
        return 0
    wanters = list(
        session.scalars(
            select(Member)
            .join(Want, Want.member_id == Member.id)
            .where(Want.request_id == request.id)
            .order_by(Want.id)
        )
    )
    told = [m for m in wanters if m.id not in skip]
    notify_many(
        session,
        told,
        "want_answered",
        f"The co-op now holds {product.name}",
        f"You asked for {product.name}: the co-op bought {deal.seats_bought or 0} seats, so "
        "it has left the most-wanted list. Claim yours in the catalogue.",
        f"/catalogue/{product.id}",
    )
    return len(told)


def standing_ids(session: Session, ids: list[int], now: datetime) -> set[int]:
    """Which of these members are in good standing at `now`."""
    if not ids:
        return set()
    return set(session.scalars(select(Member.id).where(Member.id.in_(ids), good_standing(now))))


def _notify(
    session: Session, member: Member, kind: str, subject: str, body: str, link: str | None
) -> object:
    return notify_many(session, [member], kind, subject, body, link)


def tell_waitlist(session: Session, product: Product) -> int:
    """The deal added stock: tell the members waiting for the product (catalog.waitlist)."""
    return waitlist.stock_arrived(session, product, _notify)
