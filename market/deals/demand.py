"""Member demand: asking for software the co-op does not hold, and wanting it too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.models import Channel, ChannelKind
from market.db import utcnow
from market.deals.models import Deal, Want, WantRequest
from market.deals.states import Status
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.members.models import Member
from market.money import Money, fee_split

MAX_TITLE = 120
MAX_DESCRIPTION = 2_000


def _require_good_standing(member: Member, now: datetime) -> None:
    if not member.in_good_standing(now):
        raise Forbidden("Only members in good standing can add wants. Check your dues.")


def _clean(raw: str | None, label: str, limit: int, required: bool) -> str:
    text = " ".join((raw or "").split()) if limit <= MAX_TITLE else (raw or "").strip()
    if required and not text:
        raise DomainError(f"Please give the {label}.")
    if len(text) > limit:
        raise DomainError(f"The {label} can have at most {limit:,} characters.")
    return text


def ask_for(
    session: Session,
    member: Member,
    title: str,
    maker: str,
    description: str,
    channel_id: int,
    now: datetime | None = None,
) -> WantRequest:
    """Ask for software the co-op does not hold ("I would use this"); counts as a want."""
    now = now or utcnow()
    _require_good_standing(member, now)
    channel = session.get(Channel, channel_id)
    if channel is None or not channel.active or channel.kind != ChannelKind.BUNDLE:
        raise DomainError("Choose one of the co-op's channels.")
    clean_title = _clean(title, "name of the software", MAX_TITLE, True)
    same = session.scalar(
        select(WantRequest.id).where(func.lower(WantRequest.title) == clean_title.lower())
    )
    if same is not None:
        raise Conflict(f"“{clean_title}” is already on the list: add your want to it there.")
    request = WantRequest(
        title=clean_title,
        maker=_clean(maker, "maker", MAX_TITLE, False),
        description=_clean(description, "description", MAX_DESCRIPTION, False),
        channel_id=channel.id,
        created_by=member.id,
        created_at=now,
    )
    session.add(request)
    session.flush()
    add_want(session, member, request.id, now)
    return request


def get_request(session: Session, request_id: int) -> WantRequest:
    """A want request by id (every member may see every request)."""
    request = session.get(WantRequest, request_id)
    if request is None:
        raise NotFound("No such request.")
    return request


def add_want(
    session: Session, member: Member, request_id: int, now: datetime | None = None
) -> Want:
    """Add the member's want to a request; wanting twice is refused."""
    now = now or utcnow()
    _require_good_standing(member, now)
    get_request(session, request_id)
    want = Want(request_id=request_id, member_id=member.id, created_at=now)
    try:
        # A savepoint, so a double click racing itself fails cleanly on the unique index.
        with session.begin_nested():
            session.add(want)
            session.flush()
    except IntegrityError:
        raise Conflict("You already want this.") from None
    return want


def withdraw_want(session: Session, member: Member, request_id: int) -> None:
    """Take the member's want back."""
    result = session.execute(
        delete(Want).where(Want.request_id == request_id, Want.member_id == member.id)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("You do not want this (any more).")


@dataclass(frozen=True)
class WantLine:
    """One row of the most-wanted list."""

    request: WantRequest
    channel: str
    wants: int
    mine: bool


def most_wanted(
    session: Session, member: Member | None, channel_id: int | None = None, limit: int = 200
) -> list[WantLine]:
    """Requests by how many members want them (then oldest first), optionally in one channel."""
    count = func.count(Want.id).label("wants")
    # A request the co-op now holds (a deal for it is active) is answered: off the list.
    answered = exists().where(Deal.want_request_id == WantRequest.id, Deal.status == Status.ACTIVE)
    query = (
        select(WantRequest, Channel.name, count)
        .join(Channel, Channel.id == WantRequest.channel_id)
        .outerjoin(Want, Want.request_id == WantRequest.id)
        .where(~answered)
        .group_by(WantRequest.id, Channel.name)
        .order_by(count.desc(), WantRequest.id)
        .limit(limit)
    )
    if channel_id is not None:
        query = query.where(WantRequest.channel_id == channel_id)
    rows = session.execute(query).all()
    mine: set[int] = set()
    if member is not None and rows:
        mine = set(
            session.scalars(
                select(Want.request_id).where(
                    Want.member_id == member.id,
                    Want.request_id.in_([r.id for r, _, _ in rows]),
                )
            )
        )
    return [WantLine(r, name, int(n), r.id in mine) for r, name, n in rows]


@dataclass(frozen=True)
class ChannelDemand:
    """How much members want, per channel."""

    channel_id: int
    channel: str
    requests: int
    wants: int


def demand_per_channel(session: Session) -> list[ChannelDemand]:
    """Requests and wants per channel (channels with no requests show zero)."""
    wants = (
        select(WantRequest.channel_id, func.count(Want.id).label("n"))
        .join(Want, Want.request_id == WantRequest.id)
        .group_by(WantRequest.channel_id)
        .subquery()
    )
    requests = (
        select(WantRequest.channel_id, func.count(WantRequest.id).label("n"))
        .group_by(WantRequest.channel_id)
        .subquery()
    )
    query = (
        select(Channel.id, Channel.name, requests.c.n, wants.c.n)
        .outerjoin(requests, requests.c.channel_id == Channel.id)
        .outerjoin(wants, wants.c.channel_id == Channel.id)
        .where(Channel.active.is_(True), Channel.kind == ChannelKind.BUNDLE.value)
        .order_by(func.coalesce(wants.c.n, 0).desc(), Channel.name)
    )
    return [
        ChannelDemand(i, name, int(r or 0), int(w or 0)) for i, name, r, w in session.execute(query)
    ]


@dataclass(frozen=True)
class Demand:
    """The demand figure shown to a vendor: who wants it and the pool money behind them."""

    members: int
    pool_cents_per_month: int
    pool_share_cents: int
    channel: str


def pool_share_cents(monthly_fee_cents: int, ops_share_bp: int) -> int:
    """The part of one member's monthly fee that the books put in the pool."""
    return fee_split(Money(monthly_fee_cents), ops_share_bp).pool.cents


def demand_for(session: Session, deal: Deal, monthly_fee_cents: int, ops_share_bp: int) -> Demand:
    """Members wanting the deal's request, times the pool part of each one's fee.

    "What the co-op pays per month" is defined as the pool money those members put in
    every month: 40 members x $4.50 (the $5.00 fee less the 10 % operations share) = $180.
    """
    members = 0
    if deal.want_request_id is not None:
        members = (
            session.scalar(
                select(func.count(Want.id)).where(Want.request_id == deal.want_request_id)
            )
            or 0
        )
    share = pool_share_cents(monthly_fee_cents, ops_share_bp)
    channel = session.get(Channel, deal.channel_id)
    return Demand(members, members * share, share, channel.name if channel else "")
