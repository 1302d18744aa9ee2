"""Deal ballots: put accepted deals to the members with a budget; members approve them."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from catalog.models import Channel
from market.db import utcnow
from market.dealballots.models import DealBallot, DealBallotCandidate, DealBallotVote
from market.deals.models import Deal, DealOffer
from market.deals.negotiation import offer_cost, seats_to_price
from market.deals.states import Status
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.ledger.accounts import balance, channel_code
from market.members.models import Member
from market.money import Money

MAX_DAYS_OPEN = 62
MAX_CANDIDATES = 500


@dataclass(frozen=True)
class Candidate:
    """A deal that may go on a ballot: accepted, not a group buy, with its monthly cost."""

    deal: Deal
    cost_cents: int


def candidates_for(session: Session, channel_id: int) -> list[Candidate]:
    """Accepted, unsettled, non-group-buy deals of the channel not on another ballot."""
    rows = session.execute(
        select(Deal, DealOffer)
        .join(DealOffer, DealOffer.id == Deal.accepted_offer_id)
        .where(
            Deal.channel_id == channel_id,
            Deal.status == Status.ACCEPTED,
            Deal.settled_at.is_(None),
            Deal.group_buy.is_(False),
            Deal.ballot_id.is_(None),
        )
        .order_by(Deal.id)
    ).all()
    out = [Candidate(d, offer_cost(o, seats_to_price(d, o))) for d, o in rows]
    return [c for c in out if c.cost_cents > 0]


def available_cents(session: Session, channel_id: int) -> int:
    """The channel's balance: what a ballot over its deals may spend at most."""
    return balance(session, channel_code(channel_id))


def create_ballot(
    session: Session,
    actor: Member,
    *,
    channel_id: int,
    title: str,
    deal_ids: Collection[int],
    budget_cents: int | None,
    closes_at: datetime,
    currency: str,
    now: datetime | None = None,
) -> DealBallot:
    """Open a ballot over the chosen candidate deals; refuse anything not a candidate."""
    now = now or utcnow()
    if not actor.is_admin:
        raise Forbidden("Only admins can put deals to the members.")
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound("No such channel.")
    title = " ".join(title.split())
    if not 3 <= len(title) <= 200:
        raise DomainError("Give the ballot a title of 3 to 200 characters.")
    if not now < closes_at <= now + timedelta(days=MAX_DAYS_OPEN):
        raise DomainError(f"The closing time must be in the next {MAX_DAYS_OPEN} days.")
    wanted = set(deal_ids)
    if not wanted:
        raise DomainError("Choose at least one deal to put to the members.")
    if len(wanted) > MAX_CANDIDATES:
        raise DomainError(f"A ballot holds at most {MAX_CANDIDATES} deals.")
    # Lock the deals' rows (PostgreSQL) so two ballots cannot take the same deal.
    session.execute(select(Deal.id).where(Deal.id.in_(wanted)).with_for_update())
    candidates = {c.deal.id: c for c in candidates_for(session, channel_id)}
    missing = sorted(wanted - candidates.keys())
    if missing:
        raise DomainError(
            "Only accepted deals of this channel that are not group buys, not settled and "
            f"not on another ballot can go on it; not: {', '.join(f'#{d}' for d in missing)}."
        )
    available = available_cents(session, channel_id)
    budget = available if budget_cents is None else budget_cents
    if not 1 <= budget <= available:
        raise DomainError(
            f"The budget must be more than zero and at most what {channel.name} has "
            f"available ({Money(max(available, 0), currency).format()})."
        )
    ballot = DealBallot(
        title=title,
        channel_id=channel_id,
        currency=currency,
        budget_cents=budget,
        closes_at=closes_at,
        created_by=actor.id,
        created_at=now,
    )
    session.add(ballot)
    session.flush()
    for did in sorted(wanted):
        cand = candidates[did]
        cand.deal.ballot_id = ballot.id
        session.add(
            DealBallotCandidate(
                ballot_id=ballot.id,
                deal_id=did,
                title=cand.deal.title[:200],
                cost_cents=cand.cost_cents,
            )
        )
    session.flush()
    return ballot


def get_ballot(session: Session, ballot_id: int) -> DealBallot:
    """A ballot by id, or NotFound."""
    ballot = session.get(DealBallot, ballot_id)
    if ballot is None:
        raise NotFound("No such deal ballot.")
    return ballot


def candidates_of(session: Session, ballot_id: int) -> list[DealBallotCandidate]:
    """A ballot's candidates by deal id."""
    return list(
        session.scalars(
            select(DealBallotCandidate)
            .where(DealBallotCandidate.ballot_id == ballot_id)
            .order_by(DealBallotCandidate.deal_id)
        )
    )


def list_ballots(session: Session) -> list[DealBallot]:
    """Every ballot, open ones first, newest first."""
    return list(
        session.scalars(select(DealBallot).order_by(DealBallot.status, DealBallot.closes_at.desc()))
    )


def canonical(deal_ids: Collection[int]) -> str:
    """Approved deal ids ascending, separated by spaces."""
    return " ".join(str(d) for d in sorted(set(deal_ids)))


def receipt(ballot_id: int, vote_id: int, approvals: str, salt: str) -> str:
    """sha256 over ballot, vote, approvals and a secret salt: findable, not linkable."""
    payload = f"softcoop-deal-receipt|{ballot_id}|{vote_id}|{approvals}|{salt}"
    return hashlib.sha256(payload.encode()).hexdigest()


def parse_approvals(raw: Sequence[str]) -> set[int]:
    """Deal ids from a form's checkboxes; DomainError on anything that is not one."""
    out = set()
    for value in raw:
        if not value.isdigit() or len(value) > 9:  # ids are 32-bit integers
            raise DomainError(f"{value[:20]!r} is not a deal on this ballot.")
        out.add(int(value))
    return out


def _lock_open(session: Session, ballot_id: int, now: datetime) -> DealBallot:
    # FOR SHARE: the close's status flip waits for this vote, and a vote after the
    # flip reads the published row and is refused (see closing.close_ballot).
    ballot = session.scalar(
        select(DealBallot)
        .where(DealBallot.id == ballot_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    if ballot is None:
        raise NotFound("No such deal ballot.")
    if ballot.status != "open" or now >= ballot.closes_at:
        raise Conflict("This deal ballot has closed: approvals can no longer change.")
    return ballot


def cast_approvals(
    session: Session,
    member: Member,
    ballot_id: int,
    deal_ids: Collection[int],
    now: datetime | None = None,
) -> DealBallotVote | None:
    """Record the deals the member approves (replacing earlier approvals); none withdraws."""
    now = now or utcnow()
    if not member.in_good_standing(now):
        raise Forbidden("Only members in good standing can approve deals.")
    ballot = _lock_open(session, ballot_id, now)
    on_ballot = set(
        session.scalars(
            select(DealBallotCandidate.deal_id).where(DealBallotCandidate.ballot_id == ballot.id)
        )
    )
    stray = sorted(set(deal_ids) - on_ballot)
    if stray:
        raise DomainError(
            f"Deal {', '.join(f'#{d}' for d in stray)} is not on this ballot; nothing was saved."
        )
    vote = session.scalar(
        select(DealBallotVote).where(
            DealBallotVote.ballot_id == ballot.id, DealBallotVote.member_id == member.id
        )
    )
    if not deal_ids:
        if vote is not None:
            session.execute(delete(DealBallotVote).where(DealBallotVote.id == vote.id))
            session.flush()
        return None
    text = canonical(deal_ids)
    if vote is None:
        vote = DealBallotVote(
            ballot_id=ballot.id,
            member_id=member.id,
            approvals=text,
            receipt="",
            salt="",
            created_at=now,
        )
        session.add(vote)
        session.flush()
    salt = secrets.token_hex(16)
    vote.approvals, vote.salt, vote.updated_at = text, salt, now
    vote.receipt = receipt(ballot.id, vote.id, text, salt)
    session.flush()
    return vote


def my_vote(session: Session, member: Member, ballot_id: int) -> DealBallotVote | None:
    """The member's approvals on a ballot, if any."""
    return session.scalar(
        select(DealBallotVote).where(
            DealBallotVote.ballot_id == ballot_id, DealBallotVote.member_id == member.id
        )
    )


def voter_count(session: Session, ballot_id: int) -> int:
    """How many members have approved something on the ballot so far."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(DealBallotVote)
            .where(DealBallotVote.ballot_id == ballot_id)
        )
        or 0
    )
