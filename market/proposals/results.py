"""What a proposal's page shows: counts, reasons, who has not voted, turnout; ratification."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.discussions.services import Activity, activity
from market.members.models import Member, good_standing
from market.proposals.models import Position, PositionChange, Proposal, Stance

NOT_VOTED_SHOWN = 100


@dataclass(frozen=True)
class PositionRow:
    """One member's position as the results list shows it."""

    member_id: int
    name: str
    stance: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class Results:
    """Everything the results section needs; templates do no arithmetic."""

    visible: bool  # stances and reasons (hidden while open if the author chose so)
    is_open: bool
    counts: list[tuple[str, int]]
    positions: list[PositionRow]
    blocked: bool
    not_voted: list[str]  # names, at most NOT_VOTED_SHOWN
    not_voted_total: int
    eligible: int  # members in good standing now
    voted_eligible: int  # of those, how many hold a position
    turnout_percent: int  # rounded half up
    quorum: Quorum | None = None  # decisions that move money


@dataclass(frozen=True)
class Quorum:
    """How many members must take a position for a money decision to count, and how many have."""

    share_bp: int  # of the members in good standing when the proposal opened
    base: int  # how many were in good standing then
    needed: int
    taken: int  # members holding a position now (each was in good standing when taking it)

    @property
    def reached(self) -> bool:
        """Whether enough members have taken a position."""
        return self.taken >= self.needed


def quorum_needed(share_bp: int, base: int) -> int:
    """Members needed: share_bp of base, rounded up, and at least one."""
    return max(1, -(-share_bp * base // 10_000))


def quorum_of(session: Session, proposal: Proposal) -> Quorum | None:
    """The proposal's quorum with the count so far (None: it needs no quorum)."""
    if proposal.quorum_bp is None:
        return None
    base = proposal.quorum_base or 0
    taken = session.scalar(
        select(func.count()).select_from(Position).where(Position.proposal_id == proposal.id)
    )
    return Quorum(proposal.quorum_bp, base, quorum_needed(proposal.quorum_bp, base), taken or 0)


def _counts(session: Session, proposal: Proposal) -> dict[str, int]:
    query = (
        select(Position.stance, func.count())
        .where(Position.proposal_id == proposal.id)
        .group_by(Position.stance)
    )
    return {stance: int(n) for stance, n in session.execute(query)}


def has_standing_block(session: Session, proposal: Proposal) -> bool:
    """Whether any member's current position on the proposal is a block."""
    query = select(
        exists().where(Position.proposal_id == proposal.id, Position.stance == Stance.BLOCK.value)
    )
    return bool(session.scalar(query))


def _positions(session: Session, proposal: Proposal) -> list[PositionRow]:
    order = {s.value: i for i, s in enumerate(Stance)}
    query = (
        select(Position, Member.display_name)
        .join(Member, Member.id == Position.member_id)
        .where(Position.proposal_id == proposal.id)
    )
    rows = [
        PositionRow(p.member_id, name, p.stance, p.reason, p.updated_at)
        for p, name in session.execute(query)
    ]
    return sorted(rows, key=lambda r: (order[r.stance], r.name.lower(), r.member_id))


def _turnout(session: Session, proposal: Proposal, now: datetime) -> tuple[int, int, list[str]]:
    voted = exists().where(Position.proposal_id == proposal.id, Position.member_id == Member.id)
    eligible = session.scalar(select(func.count()).where(good_standing(now))) or 0
    voted_eligible = session.scalar(select(func.count()).where(good_standing(now), voted)) or 0
    not_voted = session.scalars(
        select(Member.display_name)
        .where(good_standing(now), ~voted)
        .order_by(Member.display_name, Member.id)
        .limit(NOT_VOTED_SHOWN)
    )
    return eligible, voted_eligible, list(not_voted)


def results(
    session: Session, proposal: Proposal, now: datetime | None = None, names: bool = True
) -> Results:
    """The proposal's results as of now; without `names`, counts only (no who, no reasons)."""
    now = now or utcnow()
    is_open = proposal.is_open(now)
    visible = not is_open or proposal.results_while_open
    counts = _counts(session, proposal)
    eligible, voted_eligible, not_voted = _turnout(session, proposal, now)
    if proposal.anonymous:
        names = False  # counts and turnout only, for everyone (admins too)
    if not names:
        not_voted = []
    return Results(
        visible=visible,
        is_open=is_open,
        counts=[(s.value, counts.get(s.value, 0)) for s in Stance] if visible else [],
        positions=_positions(session, proposal) if visible and names else [],
        blocked=visible and counts.get(Stance.BLOCK.value, 0) > 0,
        not_voted=not_voted,
        not_voted_total=eligible - voted_eligible,
        eligible=eligible,
        voted_eligible=voted_eligible,
        turnout_percent=(200 * voted_eligible + eligible) // (2 * eligible) if eligible else 0,
        quorum=quorum_of(session, proposal),
    )


def my_position(session: Session, proposal: Proposal, member: Member) -> Position | None:
    """The member's current position, if any."""
    query = select(Position).where(
        Position.proposal_id == proposal.id, Position.member_id == member.id
    )
    return session.scalar(query)


def history(
    session: Session, proposal: Proposal, member: Member | None = None
) -> list[tuple[PositionChange, str]]:
    """Every position change on the proposal (or one member's), oldest first, with names."""
    query = (
        select(PositionChange, Member.display_name)
        .join(Member, Member.id == PositionChange.member_id)
        .where(PositionChange.proposal_id == proposal.id)
        .order_by(PositionChange.id)
    )
    if member is not None:
        query = query.where(PositionChange.member_id == member.id)
    return [(change, name) for change, name in session.execute(query)]


def ratification_passed(
    session: Session, subject_kind: str, subject_id: int, now: datetime | None = None
) -> tuple[bool, str]:
    """Whether the latest proposal ratifying this subject closed with agree > disagree, no block."""
    proposal = session.scalar(
        select(Proposal)
        .where(Proposal.subject_kind == subject_kind, Proposal.subject_id == subject_id)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
        .limit(1)
    )
    if proposal is None:
        return False, "No proposal to ratify this has been put to the members yet."
    return proposal_passed(session, proposal, now)


def proposal_passed(
    session: Session, proposal: Proposal, now: datetime | None = None
) -> tuple[bool, str]:
    """Whether a proposal closed with agree > disagree, no block and its quorum (if it has one)."""
    now = now or utcnow()
    if proposal.is_open(now):
        return (
            False,
            "The ratification proposal is still open "
            f"(it closes {proposal.closes_at:%d %b %Y %H:%M} UTC).",
        )
    counts = _counts(session, proposal)
    agree = counts.get(Stance.AGREE.value, 0)
    disagree = counts.get(Stance.DISAGREE.value, 0)
    blocks = counts.get(Stance.BLOCK.value, 0)
    if blocks:
        return False, f"The ratification proposal closed with {blocks} standing block(s)."
    quorum = quorum_of(session, proposal)
    if quorum is not None and not quorum.reached:
        return (
            False,
            f"The proposal closed below its quorum: {quorum.taken} of the {quorum.needed} "
            "members needed took a position.",
        )
    if agree <= disagree:
        return (
            False,
            f"The ratification proposal closed with {agree} agree and {disagree} disagree.",
        )
    reached = f", quorum {quorum.taken} of {quorum.needed}" if quorum is not None else ""
    return True, f"Ratified: {agree} agree, {disagree} disagree, no block{reached}."


@dataclass(frozen=True)
class ProposalSummary:
    """One line of the Decisions list."""

    proposal: Proposal
    author_name: str
    is_open: bool
    flagged: bool  # closed with a standing block (only said once results are visible)
    comments: int = 0
    last_activity: datetime | None = None  # the newest comment (or the proposal's start)


def list_proposals(
    session: Session, now: datetime | None = None, closed_limit: int = 50
) -> tuple[list[ProposalSummary], list[ProposalSummary]]:
    """Open proposals (closing soonest first) and the most recently closed ones."""
    now = now or utcnow()
    base = select(Proposal, Member.display_name).join(Member, Member.id == Proposal.author_id)
    open_rows = session.execute(
        base.where(Proposal.closes_at > now).order_by(Proposal.closes_at, Proposal.id)
    ).all()
    closed_rows = session.execute(
        base.where(Proposal.closes_at <= now)
        .order_by(Proposal.closes_at.desc(), Proposal.id.desc())
        .limit(closed_limit)
    ).all()
    closed_ids = [p.id for p, _ in closed_rows]
    blocked = set(
        session.scalars(
            select(Position.proposal_id)
            .where(Position.proposal_id.in_(closed_ids), Position.stance == Stance.BLOCK.value)
            .distinct()
        )
    )
    talk = activity(session, "proposal", [p.id for p, _ in open_rows] + closed_ids)
    none = Activity(0, None)
    return (
        [
            ProposalSummary(p, name, True, False, *astuple(talk.get(p.id, none)))
            for p, name in open_rows
        ],
        [
            ProposalSummary(p, name, False, p.id in blocked, *astuple(talk.get(p.id, none)))
            for p, name in closed_rows
        ],
    )
