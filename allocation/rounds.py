"""Opening rounds: the ballot's channels, the eligible-voter snapshot, standing splits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, insert, literal, not_, or_, select, update
from sqlalchemy.orm import Session

from allocation import splits
from allocation.models import (
    Ballot,
    BallotShare,
    ClassWeight,
    Round,
    RoundChannel,
    RoundStatus,
    RoundVoter,
    Rule,
)
from catalog.models import Channel
from market.clock import PERIOD, month_end, utcnow
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.members.models import Member, MemberClass, MemberStatus

ACTIVE_STATUSES = (RoundStatus.OPEN, RoundStatus.CLOSING, RoundStatus.CLOSED)


def end_of_month(period: str) -> datetime:
    """The first instant of the next month, in UTC (when a round's voting ends by default)."""
    return month_end(period)


def _require_admin(actor: Member) -> None:
    if not actor.is_admin:
        raise Forbidden("Only admins can run budget rounds.")


def _in_good_standing(now: datetime):  # type: ignore[no-untyped-def]
    """SQL twin of Member.in_good_standing."""
    return or_(
        Member.status == MemberStatus.ACTIVE.value,
        and_(Member.status == MemberStatus.PAST_DUE.value, Member.grace_until > now),
    )


def open_round(
    session: Session,
    actor: Member,
    period: str,
    rule: str = Rule.INDEPENDENT_MARKETS.value,
    closes_at: datetime | None = None,
    currency: str = "usd",
    now: datetime | None = None,
) -> Round:
    """Open a month's round: snapshot channels and voters, carry standing splits forward."""
    _require_admin(actor)
    now = now or utcnow()
    if not PERIOD.match(period):
        raise DomainError("The period is a month written like 2026-11.")
    if rule not in {r.value for r in Rule}:
        raise DomainError("Unknown rule.")
    try:
        ends = month_end(period)
    except ValueError:  # year 0000, or a December with no year after it
        raise DomainError("The period is a month written like 2026-11.") from None
    if ends <= now:
        raise DomainError(f"{month_name(period)} has ended: its round can no longer open.")
    if session.scalar(select(Round.id).where(Round.period == period)) is not None:
        raise Conflict(f"There is already a round for {period}.")
    busy = session.scalar(select(Round.period).where(Round.status.in_(ACTIVE_STATUSES)))
    if busy is not None:
        raise Conflict(f"The {busy} round is still open or closing; close it first.")
    channel_ids = session.scalars(
        select(Channel.id).where(Channel.active).order_by(Channel.id)
    ).all()
    if not channel_ids:
        raise DomainError("There are no active channels to vote on.")
    closes_at = closes_at or end_of_month(period)
    if closes_at <= now:
        raise DomainError("The round must close in the future.")
    previous = session.scalar(
        select(Round).where(Round.period < period).order_by(Round.period.desc()).limit(1)
    )
    rnd = Round(period=period, rule=rule, currency=currency, opens_at=now, closes_at=closes_at)
    session.add(rnd)
    session.flush()
    session.execute(
        insert(RoundChannel), [{"round_id": rnd.id, "channel_id": c} for c in channel_ids]
    )
    # Class weights stand from month to month like splits do (a new class starts at 1).
    weights = class_weights(session, previous.id) if previous is not None else {}
    session.execute(
        insert(ClassWeight),
        [
            {
                "round_id": rnd.id,
                "member_class": c.value,
                "weight_milli": weights.get(c.value, 1000),
            }
            for c in MemberClass
        ],
    )
    _snapshot_voters(session, rnd, now)
    if previous is not None:
        carry_forward(session, rnd, previous)
    return rnd


def _snapshot_voters(session: Session, rnd: Round, now: datetime) -> None:
    session.execute(
        insert(RoundVoter).from_select(
            ["round_id", "member_id", "member_class"],
            select(literal(rnd.id, RoundVoter.round_id.type), Member.id, Member.member_class).where(
                _in_good_standing(now)
            ),
        )
    )
    rnd.eligible_count = (
        session.scalar(
            select(func.count()).select_from(RoundVoter).where(RoundVoter.round_id == rnd.id)
        )
        or 0
    )


def carry_forward(session: Session, rnd: Round, previous: Round) -> int:
    """Eligible members' current splits from the previous round stand in this one.

    Bulk INSERT ... SELECT, so opening stays cheap with many members. A split naming a
    channel that left the ballot does not carry (the member is asked to vote again);
    abstentions do not carry (abstaining withdraws the standing split).
    """
    old = select(Ballot.id).where(
        Ballot.round_id == previous.id, Ballot.is_current, not_(Ballot.abstain)
    )
    stale_channel = exists().where(
        BallotShare.ballot_id == Ballot.id,
        BallotShare.channel_id.not_in(
            select(RoundChannel.channel_id).where(RoundChannel.round_id == rnd.id)
        ),
    )
    # A standing split is cast when the round opens (not when this runs: the demo and
    # simulations open rounds in the past).
    now = rnd.opens_at
    session.execute(
        insert(Ballot).from_select(
            [
                "round_id",
                "member_id",
                "member_class",
                "split",
                "abstain",
                "is_current",
                "carried_over",
                "cast_at",
            ],
            select(
                literal(rnd.id, Ballot.round_id.type),
                Ballot.member_id,
                RoundVoter.member_class,
                Ballot.split,
                literal(False, Ballot.abstain.type),
                literal(True, Ballot.is_current.type),
                literal(True, Ballot.carried_over.type),
                literal(now, Ballot.cast_at.type),
            )
            .join(
                RoundVoter,
                and_(RoundVoter.member_id == Ballot.member_id, RoundVoter.round_id == rnd.id),
            )
            .where(Ballot.id.in_(old), ~stale_channel),
        )
    )
    session.execute(
        insert(BallotShare).from_select(
            ["ballot_id", "channel_id", "round_id", "member_class", "bp"],
            _carried_shares(rnd, previous),
        )
    )
    return _fill_receipts(session, rnd)


def _carried_shares(rnd: Round, previous: Round):  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import aliased

    new, old = aliased(Ballot), aliased(Ballot)
    return (
        select(
            new.id,
            BallotShare.channel_id,
            literal(rnd.id, BallotShare.round_id.type),
            new.member_class,
            BallotShare.bp,
        )
        .select_from(new)
        .join(
            old, and_(old.member_id == new.member_id, old.round_id == previous.id, old.is_current)
        )
        .join(BallotShare, BallotShare.ballot_id == old.id)
        .where(new.round_id == rnd.id, new.carried_over)
    )


def _fill_receipts(session: Session, rnd: Round, batch: int = 5000) -> int:
    """Receipts for carried ballots, with their salts kept for the member's receipts page."""
    done = 0
    while True:
        rows = session.execute(
            select(Ballot.id, Ballot.split)
            .where(Ballot.round_id == rnd.id, Ballot.receipt.is_(None), not_(Ballot.abstain))
            .limit(batch)
        ).all()
        if not rows:
            return done
        salts = {bid: secrets.token_hex(16) for bid, _ in rows}
        session.execute(
            update(Ballot),
            [
                {
                    "id": bid,
                    "receipt": splits.receipt(rnd.id, bid, text, salts[bid]),
                    "salt": salts[bid],
                }
                for bid, text in rows
            ],
        )
        done += len(rows)


def set_class_weight(
    session: Session, actor: Member, rnd: Round, member_class: str, weight_milli: int
) -> None:
    """Set how much one class's ballots count in an open round (1000 = 1)."""
    weights = class_weights(session, rnd.id)
    weights[member_class] = weight_milli
    set_class_weights(session, actor, rnd, weights)


def _no_ballot_would_count(session: Session, rnd: Round, weights: dict[str, int]) -> str:
    """Why these weights would void the round ('' when some eligible voter's ballot counts)."""
    voters = dict(
        session.execute(
            select(RoundVoter.member_class, func.count())
            .where(RoundVoter.round_id == rnd.id)
            .group_by(RoundVoter.member_class)
        ).all()
    )
    if any(w > 0 and (voters.get(cls, 0) or not voters) for cls, w in weights.items()):
        return ""
    who = ", ".join(f"{cls}: {n} members" for cls, n in sorted(voters.items())) or "none"
    return (
        "With these weights no ballot would count and the pool would carry over. Give a "
        f"class that has voters a weight above 0 (eligible voters by class: {who})."
    )


def set_class_weights(session: Session, actor: Member, rnd: Round, weights: dict[str, int]) -> None:
    """Set how much each class's ballots count (1000 = 1), all or nothing."""
    _require_admin(actor)
    if rnd.status != RoundStatus.OPEN:
        raise Conflict("Weights can only change while the round is open.")
    known = {c.value for c in MemberClass}
    if not set(weights) <= known:
        raise DomainError("Unknown member class.")
    if not all(0 <= w <= 100_000 for w in weights.values()):
        raise DomainError("A weight is between 0 and 100.")
    merged = {**class_weights(session, rnd.id), **weights}
    problem = _no_ballot_would_count(session, rnd, merged)
    if problem:
        raise DomainError(problem)
    session.execute(
        delete(ClassWeight).where(
            ClassWeight.round_id == rnd.id, ClassWeight.member_class.in_(list(weights))
        )
    )
    session.add_all(
        ClassWeight(round_id=rnd.id, member_class=cls, weight_milli=w) for cls, w in weights.items()
    )
    session.flush()


def class_weights(session: Session, round_id: int) -> dict[str, int]:
    """Weight (thousandths) per member class in a round; classes not listed count 1."""
    weights = {c.value: 1000 for c in MemberClass}
    rows = session.execute(
        select(ClassWeight.member_class, ClassWeight.weight_milli).where(
            ClassWeight.round_id == round_id
        )
    ).all()
    weights.update({cls: w for cls, w in rows})
    return weights


def round_channels(session: Session, round_id: int) -> list[Channel]:
    """The channels on a round's ballot, by id."""
    return list(
        session.scalars(
            select(Channel)
            .join(RoundChannel, RoundChannel.channel_id == Channel.id)
            .where(RoundChannel.round_id == round_id)
            .order_by(Channel.id)
        )
    )


def current_round(session: Session) -> Round | None:
    """The round members can vote in now (at most one is open at a time)."""
    return session.scalar(select(Round).where(Round.status == RoundStatus.OPEN))


def get_round(session: Session, round_id: int) -> Round:
    """A round by id (rounds are public once they exist)."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise NotFound("There is no such round.")
    return rnd


def get_published_round(session: Session, round_id: int) -> Round:
    """A round whose results are out; anything else is not found for the public."""
    rnd = get_round(session, round_id)
    if rnd.status != RoundStatus.PUBLISHED:
        raise NotFound("That round's results are not published yet.")
    return rnd


def all_rounds(session: Session) -> list[Round]:
    """Every round, newest first."""
    return list(session.scalars(select(Round).order_by(Round.period.desc())))


@dataclass(frozen=True)
class Standing:
    """What a member's vote in a round currently is."""

    ballot: Ballot | None
    eligible: bool
    reason: str


def standing_for(
    session: Session, rnd: Round, member: Member, now: datetime | None = None
) -> Standing:
    """The member's current ballot in a round and whether (and why not) they may vote."""
    ballot = session.scalar(
        select(Ballot).where(
            Ballot.round_id == rnd.id, Ballot.member_id == member.id, Ballot.is_current
        )
    )
    reason = refusal_reason(session, rnd, member, now)
    return Standing(ballot=ballot, eligible=reason == "", reason=reason)


def refusal_reason(
    session: Session, rnd: Round, member: Member, now: datetime | None = None
) -> str:
    """Why the member may not vote in this round now ('' when they may)."""
    now = now or utcnow()
    if rnd.status != RoundStatus.OPEN or now >= rnd.closes_at:
        return "Voting in this round has ended."
    snap = session.get(RoundVoter, (rnd.id, member.id))
    if snap is None:
        return (
            "Only members in good standing when the round opened "
            f"({rnd.opens_at:%d %B %Y}) can vote in it. You can vote in next month's round."
        )
    if not member.in_good_standing(now):
        return f"Your membership is {member.status.replace('_', ' ')}: pay your dues to vote."
    return ""


def month_name(period: str) -> str:
    """A period 'YYYY-MM' as a month's name and year (e.g. 'October' and the year)."""
    return datetime.strptime(period + "-01", "%Y-%m-%d").strftime("%B %Y")


def previous_period_label(session: Session, rnd: Round) -> str | None:
    """The month of the round before this one, e.g. 'October 2026' (None if first)."""
    period = session.scalar(
        select(Round.period).where(Round.period < rnd.period).order_by(Round.period.desc())
    )
    return month_name(period) if period else None
