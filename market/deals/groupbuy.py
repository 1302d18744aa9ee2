"""Group buys: members commit or withdraw until the deadline; progress toward N."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.db import utcnow
from market.deals.models import Commitment, Deal
from market.deals.states import Status
from market.errors import Conflict, Forbidden, NotFound
from market.members.models import Member, MemberStatus

# Members see deals whose terms are agreed; open negotiations stay between admins and vendor.
VISIBLE = (Status.ACCEPTED, Status.ACTIVE, Status.LAPSED, Status.EXPIRED)


def get_deal_for_member(session: Session, member: Member, deal_id: int) -> Deal:
    """A deal a member may see: one whose terms are agreed (not one still being negotiated)."""
    deal = session.get(Deal, deal_id)
    if deal is None or (deal.status not in VISIBLE and not member.is_admin):
        raise NotFound("No such deal.")
    return deal


def open_group_buys(session: Session) -> list[Deal]:
    """Group buys collecting commitments, soonest deadline first."""
    query = (
        select(Deal)
        .where(Deal.group_buy.is_(True), Deal.status == Status.ACCEPTED, Deal.settled_at.is_(None))
        .order_by(Deal.deadline, Deal.id)
    )
    return list(session.scalars(query))


def recent_deals(session: Session, limit: int = 20) -> list[Deal]:
    """Deals that were bought, lapsed or expired, newest first."""
    query = (
        select(Deal)
        .where(Deal.status.in_([Status.ACTIVE, Status.LAPSED, Status.EXPIRED]))
        .order_by(Deal.updated_at.desc(), Deal.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def _lock_open(session: Session, deal: Deal, now: datetime) -> None:
    """Re-read the deal under a share lock and refuse unless it is still collecting.

    Settling takes the row's write lock (its conditional UPDATE), so a commitment and a
    settlement are serialised: a commitment either counts or is refused, never lost.
    """
    row = session.execute(
        select(Deal.status, Deal.group_buy, Deal.deadline, Deal.settled_at)
        .where(Deal.id == deal.id)
        .with_for_update(read=True)
    ).one()
    if not row.group_buy:
        raise Conflict("This deal is not a group buy.")
    if row.status != Status.ACCEPTED or row.settled_at is not None:
        raise Conflict(f"This group buy is no longer open (it is {row.status}).")
    if row.deadline is None or now >= row.deadline:
        raise Conflict(
            f"The deadline has passed ({row.deadline:%d %b %Y %H:%M} UTC); "
            "commitments can no longer change."
        )


def commit(session: Session, member: Member, deal: Deal, now: datetime | None = None) -> None:
    """Commit the member to the group buy (once); refused after the deadline or if not in
    good standing."""
    now = now or utcnow()
    if not member.in_good_standing(now):
        raise Forbidden("Only members in good standing can commit to a group buy. Check your dues.")
    _lock_open(session, deal, now)
    try:
        with session.begin_nested():
            session.add(Commitment(deal_id=deal.id, member_id=member.id, created_at=now))
            session.flush()
    except IntegrityError:
        raise Conflict("You have already committed to this group buy.") from None


def withdraw(session: Session, member: Member, deal: Deal, now: datetime | None = None) -> None:
    """Withdraw the member's commitment before the deadline."""
    now = now or utcnow()
    _lock_open(session, deal, now)
    result = session.execute(
        delete(Commitment).where(Commitment.deal_id == deal.id, Commitment.member_id == member.id)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("You have not committed to this group buy.")


def _good_standing(now: datetime) -> ColumnElement[bool]:
    """SQL twin of Member.in_good_standing(now)."""
    return or_(
        Member.status == MemberStatus.ACTIVE.value,
        and_(Member.status == MemberStatus.PAST_DUE.value, Member.grace_until > now),
    )


def commitment_counts(session: Session, deal: Deal, now: datetime) -> tuple[int, int]:
    """(commitments that count: members in good standing at `now`, all commitments)."""
    counting = func.sum(case((_good_standing(now), 1), else_=0))
    row = session.execute(
        select(counting, func.count(Commitment.id))
        .select_from(Commitment)
        .join(Member, Member.id == Commitment.member_id)
        .where(Commitment.deal_id == deal.id)
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def committed_count(session: Session, deal: Deal, now: datetime | None = None) -> int:
    """How many committed members are in good standing at `now`: only they tip a deal.

    A member whose dues lapse after committing still has the commitment (it counts again
    once they pay), but a lapsed member never makes the co-op spend a channel's money.
    """
    return commitment_counts(session, deal, now or utcnow())[0]


def committed_members(session: Session, deal: Deal, now: datetime | None = None) -> list[Member]:
    """The committed members in good standing at `now`, in order of commitment."""
    query = (
        select(Member)
        .join(Commitment, Commitment.member_id == Member.id)
        .where(Commitment.deal_id == deal.id, _good_standing(now or utcnow()))
        .order_by(Commitment.id)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class Progress:
    """A group buy's progress toward its threshold."""

    committed: int  # members in good standing who committed: the count that tips it
    needed: int
    percent: int
    mine: bool
    open: bool
    not_counting: int = 0  # commitments of members whose dues are not paid up

    @property
    def reached(self) -> bool:
        """Whether enough members have committed for it to tip."""
        return self.committed >= self.needed


def progress(
    session: Session, deal: Deal, member: Member | None, now: datetime | None = None
) -> Progress:
    """Progress toward N, whether this member committed, and whether it is still open."""
    now = now or utcnow()
    count, every = commitment_counts(session, deal, now)
    needed = deal.min_members or 0
    mine = member is not None and (
        session.scalar(
            select(Commitment.id).where(
                Commitment.deal_id == deal.id, Commitment.member_id == member.id
            )
        )
        is not None
    )
    is_open = (
        deal.group_buy
        and deal.status == Status.ACCEPTED
        and deal.settled_at is None
        and deal.deadline is not None
        and now < deal.deadline
    )
    percent = 100 if needed == 0 else min(100, count * 100 // needed)
    return Progress(count, needed, percent, mine, bool(is_open), every - count)


def group_buy_pointer(session: Session, product_id: int) -> tuple[str, str] | None:
    """For a sold-out product's page: the group buy collecting commitments for it, if any."""
    deal = session.scalar(
        select(Deal)
        .where(
            Deal.product_id == product_id,
            Deal.group_buy.is_(True),
            Deal.status == Status.ACCEPTED,
            Deal.settled_at.is_(None),
        )
        .order_by(Deal.deadline, Deal.id)
        .limit(1)
    )
    if deal is None:
        return None
    return (f"A group buy for more is running: {deal.title}. Commit to it", f"/deals/{deal.id}")
