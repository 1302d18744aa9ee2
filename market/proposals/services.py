"""Proposal operations: start, take a position, close, write the outcome. Flush, never commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market.db import utcnow
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.members.models import Member, good_standing
from market.notifications.services import Quote, notify, notify_many
from market.proposals.models import Position, PositionChange, Proposal, Stance
from market.proposals.results import has_standing_block

MIN_OPEN = timedelta(hours=1)
MAX_TITLE = 200
MAX_BODY = 20_000
MAX_REASON = 2_000
MAX_OUTCOME = 10_000
BLOCK_EXPLAINED = (
    "A block says: if this passes, I would leave the co-op over it. Use it only then, and "
    "say why in the reason so the co-op can discuss it. Otherwise, choose Disagree."
)


class BlockNeedsReason(DomainError):
    """A block was given without a reason (the form shows this at the reason field)."""


def _require_good_standing(member: Member, now: datetime, doing: str) -> None:
    if not member.in_good_standing(now):
        raise Forbidden(f"Only members in good standing can {doing}. Check your dues.")


def _text(raw: str | None, label: str, limit: int, required: bool = True) -> str | None:
    text = (raw or "").strip()
    if required and not text:
        raise DomainError(f"Please write the {label}.")
    if len(text) > limit:
        raise DomainError(f"The {label} can have at most {limit:,} characters.")
    return text or None


def start_proposal(
    session: Session,
    author: Member,
    title: str,
    body: str,
    closes_at: datetime,
    *,
    results_while_open: bool = True,
    anonymous: bool = False,
    subject_kind: str | None = None,
    subject_id: int | None = None,
    terms: dict[str, Any] | None = None,
    quorum_bp: int | None = None,
    now: datetime | None = None,
) -> Proposal:
    """Put a proposal to the members; subject_kind/id ties it to e.g. a deal to ratify.

    `quorum_bp`: a decision that moves money counts only if this share of the members in
    good standing now take a position (counted now, so the bar does not move).
    """
    now = now or utcnow()
    _require_good_standing(author, now, "start a proposal")
    if (subject_kind is None) != (subject_id is None):
        raise DomainError("A ratification needs both what it ratifies and its id.")
    if subject_kind == "deal" and not author.is_admin:
        raise Forbidden("Only admins can put a deal to the members for ratification.")
    if quorum_bp is not None and not 0 <= quorum_bp <= 10_000:
        raise DomainError("A quorum is a share between 0 and 100 % of the members.")
    if closes_at.tzinfo is None:
        raise DomainError("The closing time needs a time zone.")
    if closes_at < now + MIN_OPEN:
        raise DomainError("The closing time must be at least an hour from now.")
    proposal = Proposal(
        author_id=author.id,
        title=" ".join((_text(title, "title", MAX_TITLE) or "").split()),
        body=_text(body, "proposal", MAX_BODY),
        closes_at=closes_at,
        results_while_open=results_while_open,
        anonymous=anonymous,
        subject_kind=subject_kind,
        subject_id=subject_id,
        terms=terms,
        quorum_bp=quorum_bp,
        quorum_base=None if quorum_bp is None else _members_in_good_standing(session, now),
        created_at=now,
    )
    session.add(proposal)
    session.flush()
    _notify_new(session, proposal, author, now)
    return proposal


def _members_in_good_standing(session: Session, now: datetime) -> int:
    return session.scalar(select(func.count()).select_from(Member).where(good_standing(now))) or 0


def _notify_new(session: Session, proposal: Proposal, author: Member, now: datetime) -> None:
    # Everyone in good standing hears of it (inbox; email only for those who chose it).
    members = select(Member).where(good_standing(now), Member.id != author.id).order_by(Member.id)
    notify_many(
        session,
        members,
        "proposal.new",
        "A new proposal is open",
        f"A new proposal is open for positions until {proposal.closes_at:%d %b %Y %H:%M} UTC.",
        _link(proposal),
        quote=_title_quote(proposal, author),
        event_key=f"proposal-{proposal.id}:new",
    )


def can_read_deliberation(member: Member, now: datetime | None = None) -> bool:
    """Who wrote what and who took which position: for members in good standing (and admins).

    Everyone else (a sign-up who has not paid, a lapsed member) sees titles and counts.
    """
    return member.is_admin or member.in_good_standing(now or utcnow())


def get_proposal_for_member(session: Session, member: Member, proposal_id: int) -> Proposal:
    """A proposal a logged-in member may open (its text and names: can_read_deliberation)."""
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("No such proposal.")
    return proposal


def _lock_open_proposal(session: Session, proposal: Proposal, now: datetime) -> None:
    # Re-read closes_at at the write itself, not from a cached object, under a share lock
    # (FOR SHARE on PostgreSQL; SQLite writes are serialised by BEGIN IMMEDIATE) so a
    # concurrent change of the closing time waits for this position to commit.
    closes_at = session.scalar(
        select(Proposal.closes_at).where(Proposal.id == proposal.id).with_for_update(read=True)
    )
    if closes_at is None or now >= closes_at:
        raise Conflict("This proposal has closed; positions can no longer change.")


def take_position(
    session: Session,
    member: Member,
    proposal: Proposal,
    stance: str,
    reason: str | None,
    now: datetime | None = None,
) -> Position:
    """Set the member's own position (replacing any earlier one) and record the change."""
    now = now or utcnow()
    _require_good_standing(member, now, "take a position")
    try:
        chosen = Stance(stance)
    except ValueError:
        raise DomainError("Choose Agree, Abstain, Disagree or Block.") from None
    text = _text(reason, "reason", MAX_REASON, required=False)
    if chosen is Stance.BLOCK and not text:
        raise BlockNeedsReason(f"A block needs a reason. {BLOCK_EXPLAINED}")
    _lock_open_proposal(session, proposal, now)
    position = _upsert_position(session, proposal, member, chosen, text, now)
    session.add(
        PositionChange(
            proposal_id=proposal.id,
            member_id=member.id,
            stance=chosen.value,
            reason=text,
            created_at=now,
        )
    )
    session.flush()
    return position


def _current(session: Session, proposal: Proposal, member: Member) -> Position | None:
    query = select(Position).where(
        Position.proposal_id == proposal.id, Position.member_id == member.id
    )
    return session.scalar(query.with_for_update())


def _upsert_position(
    session: Session,
    proposal: Proposal,
    member: Member,
    stance: Stance,
    reason: str | None,
    now: datetime,
) -> Position:
    """One current row per (proposal, member); the unique constraint settles races."""
    position = _current(session, proposal, member)
    if position is None:
        try:
            with session.begin_nested():
                position = Position(
                    proposal_id=proposal.id,
                    member_id=member.id,
                    stance=stance.value,
                    reason=reason,
                    updated_at=now,
                )
                session.add(position)
            return position
        except IntegrityError:
            # Another request (a second tab) inserted it first: update that row instead.
            position = _current(session, proposal, member)
            if position is None:
                raise
    position.stance, position.reason, position.updated_at = stance.value, reason, now
    return position


def close_due(session: Session, now: datetime | None = None) -> list[Proposal]:
    """Tell the author and participants of each newly closed proposal; once per proposal."""
    now = now or utcnow()
    due = select(Proposal.id).where(Proposal.closes_at <= now, Proposal.close_noticed_at.is_(None))
    closed = []
    for proposal_id in list(session.scalars(due.order_by(Proposal.id))):
        # The conditional UPDATE is the claim: a concurrent run matches no row and skips.
        claimed = session.execute(
            update(Proposal)
            .where(Proposal.id == proposal_id, Proposal.close_noticed_at.is_(None))
            .values(close_noticed_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        proposal = session.get(Proposal, proposal_id, populate_existing=True)
        assert proposal is not None
        _notify_closed(session, proposal)
        closed.append(proposal)
    return closed


def _link(proposal: Proposal) -> str:
    return f"/decisions/{proposal.id}"


def _title_quote(proposal: Proposal, author: Member | None, text: str = "") -> Quote:
    """The proposal's member-written words, vetted when an admin wrote them."""
    vetted = author is not None and author.is_admin
    return Quote(proposal.title, text, proposal.author_id, vetted)


def _notify_closed(session: Session, proposal: Proposal) -> None:
    author = session.get(Member, proposal.author_id)
    voters = select(Member).join(Position, Position.member_id == Member.id)
    participants = [
        m
        for m in session.scalars(voters.where(Position.proposal_id == proposal.id))
        if m.id != proposal.author_id
    ]
    notify_many(
        session,
        participants,
        "proposal.closed",
        "A proposal you took part in has closed",
        "The proposal has closed. The results are on its page.",
        _link(proposal),
        quote=_title_quote(proposal, author),
    )
    if author is not None:
        notify(
            session,
            author,
            "proposal.closed",
            "Your proposal closed",
            "Your proposal has closed. Please write its outcome, "
            "so the members know what happens next.",
            _link(proposal),
            quote=_title_quote(proposal, author),
        )


def can_write_outcome(member: Member, proposal: Proposal) -> bool:
    """The author or an admin writes the outcome."""
    return member.is_admin or member.id == proposal.author_id


def write_outcome(
    session: Session,
    actor: Member,
    proposal: Proposal,
    statement: str,
    now: datetime | None = None,
) -> None:
    """Record the outcome statement after the close, and tell the members."""
    now = now or utcnow()
    if not can_write_outcome(actor, proposal):
        raise Forbidden("Only the author or an admin can write the outcome.")
    if proposal.is_open(now):
        raise Conflict("The outcome can be written once the proposal has closed.")
    if proposal.outcome is not None:
        raise Conflict("The outcome has already been written.")
    proposal.outcome = _text(statement, "outcome", MAX_OUTCOME)
    proposal.outcome_by_id = actor.id
    proposal.outcome_at = now
    session.flush()
    flagged = has_standing_block(session, proposal)
    flag = " It closed with a block, so it is flagged for discussion." if flagged else ""
    # An admin's outcome speaks for the co-op and goes to every member in good standing;
    # a member's goes to those who took part (the inbox of each, and their email only if
    # they asked to receive members' words), never to everyone on one member's say-so.
    members = select(Member).where(good_standing(now)).order_by(Member.id)
    if not actor.is_admin:
        took_part = select(Position.member_id).where(Position.proposal_id == proposal.id)
        members = members.where(or_(Member.id.in_(took_part), Member.id == proposal.author_id))
    notify_many(
        session,
        session.scalars(members),
        "proposal.outcome",
        "The outcome of a proposal is written",
        f"The outcome of a proposal has been written.{flag} Read it on the proposal's page.",
        _link(proposal),
        quote=Quote(proposal.title, proposal.outcome or "", actor.id, actor.is_admin),
    )
