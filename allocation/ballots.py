"""Casting ballots: validate a split, keep every revision, one current ballot per member.

Races: the ballot write locks the round row FOR SHARE and the close takes it FOR UPDATE
(PostgreSQL; SQLite serialises all writers), so a ballot either lands before the tally or
sees the round closing and is refused. The member row is locked FOR UPDATE so two tabs of
one member take turns: both revisions are kept, the later one is current.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from allocation import splits
from allocation.models import Ballot, BallotShare, Round, RoundVoter
from allocation.rounds import refusal_reason
from market.db import utcnow
from market.errors import Conflict, DomainError, Forbidden
from market.members.models import Member
from market.money import format_bp

FIELD_PREFIX = "share-"


@dataclass(frozen=True)
class Cast:
    """A ballot just written, with the salt the member sees once."""

    ballot: Ballot
    salt: str


def parse_percentages(form: Mapping[str, str], channel_ids: Iterable[int]) -> dict[int, int]:
    """Percent fields 'share-<channel id>' (up to 2 decimals) → basis points summing to 10,000."""
    allowed = set(channel_ids)
    split: dict[int, int] = {}
    for name, raw in form.items():
        if not name.startswith(FIELD_PREFIX):
            continue
        suffix = name.removeprefix(FIELD_PREFIX)
        if not suffix.isdigit() or int(suffix) not in allowed:
            raise DomainError("The form named a channel that is not on this round's ballot.")
        split[int(suffix)] = _basis_points(raw.strip())
    total = sum(split.values())
    if total != splits.BASIS_POINTS:
        raise DomainError(
            f"Your split adds up to {format_bp(total)}; it must add up to exactly 100 %."
        )
    return {cid: bp for cid, bp in split.items() if bp}


def _basis_points(raw: str) -> int:
    if raw == "":
        return 0
    try:
        pct = Decimal(raw)
    except InvalidOperation:
        raise DomainError(f"“{raw[:20]}” is not a percentage.") from None
    if not pct.is_finite() or pct < 0 or pct > 100:
        raise DomainError("Each share is a percentage between 0 and 100.")
    bp = pct * 100
    if bp != bp.to_integral_value():
        raise DomainError("Shares can have at most two decimals (e.g. 33.33).")
    return int(bp)


def _lock_open_round(session: Session, round_id: int) -> Round:
    rnd = session.scalar(
        select(Round)
        .where(Round.id == round_id)
        .with_for_update(read=True)
        # The view may have loaded the round before the close committed: reload it from the
        # locked row rather than trust the identity map.
        .execution_options(populate_existing=True)
    )
    if rnd is None:
        raise DomainError("That round does not exist.")
    return rnd


def _check_may_vote(session: Session, rnd: Round, member: Member, now: datetime) -> RoundVoter:
    reason = refusal_reason(session, rnd, member, now)
    if reason:
        if "ended" in reason:
            raise Conflict(reason)
        raise Forbidden(reason)
    voter = session.get(RoundVoter, (rnd.id, member.id))
    assert voter is not None
    return voter


def _retire_current(session: Session, rnd: Round, member: Member) -> None:
    # Serialise this member's concurrent submissions (two tabs) on their member row.
    session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    old = session.scalar(
        select(Ballot).where(
            Ballot.round_id == rnd.id, Ballot.member_id == member.id, Ballot.is_current
        )
    )
    if old is not None:
        session.execute(delete(BallotShare).where(BallotShare.ballot_id == old.id))
        old.is_current = False
        session.flush()


def cast_ballot(
    session: Session,
    member: Member,
    round_id: int,
    split: Mapping[int, int],
    now: datetime | None = None,
) -> Cast:
    """Record the member's split (basis points by channel id) as their current ballot."""
    now = now or utcnow()
    if sum(split.values()) != splits.BASIS_POINTS or any(bp < 0 for bp in split.values()):
        raise DomainError("A split must add up to exactly 100 % with no negative parts.")
    rnd = _lock_open_round(session, round_id)
    voter = _check_may_vote(session, rnd, member, now)
    from allocation.rounds import round_channels

    on_ballot = {c.id for c in round_channels(session, rnd.id)}
    if not set(split) <= on_ballot:
        raise DomainError("The split names a channel that is not on this round's ballot.")
    _retire_current(session, rnd, member)
    text = splits.canonical(split)
    ballot = Ballot(
        round_id=rnd.id,
        member_id=member.id,
        member_class=voter.member_class,
        split=text,
        cast_at=now,
    )
    session.add(ballot)
    session.flush()
    salt = secrets.token_hex(16)
    ballot.receipt = splits.receipt(rnd.id, ballot.id, text, salt)
    ballot.salt = salt
    session.add_all(
        BallotShare(
            ballot_id=ballot.id,
            channel_id=cid,
            round_id=rnd.id,
            member_class=voter.member_class,
            bp=bp,
        )
        for cid, bp in sorted(split.items())
        if bp
    )
    session.flush()
    return Cast(ballot=ballot, salt=salt)


def abstain(session: Session, member: Member, round_id: int, now: datetime | None = None) -> Ballot:
    """Abstain in this round: the member is left out of the tally and their split stops standing."""
    now = now or utcnow()
    rnd = _lock_open_round(session, round_id)
    voter = _check_may_vote(session, rnd, member, now)
    _retire_current(session, rnd, member)
    ballot = Ballot(
        round_id=rnd.id,
        member_id=member.id,
        member_class=voter.member_class,
        split="",
        abstain=True,
        cast_at=now,
    )
    session.add(ballot)
    session.flush()
    return ballot


def revisions(session: Session, round_id: int, member_id: int) -> list[Ballot]:
    """Every ballot a member cast in a round, oldest first."""
    return list(
        session.scalars(
            select(Ballot)
            .where(Ballot.round_id == round_id, Ballot.member_id == member_id)
            .order_by(Ballot.id)
        )
    )
