"""The scheduled notices: rounds and deal ballots opened, closing tomorrow, published; grace
ending tomorrow.

Each run looks at the state of things, not at what happened since the last run, and every
notice is keyed by its event (see `market.notifications.events`): running it every few
minutes, on several hosts, or after a long outage tells each member once per event. The
audiences go to the notices as queries, so a run with nothing new loads no member.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from allocation.models import Ballot, Round, RoundStatus, RoundVoter
from allocation.rounds import ACTIVE_STATUSES, month_name
from market.dealballots.models import DealBallot, DealBallotVote
from market.members.models import Member, MemberStatus, good_standing
from market.notifications.events import Vote, vote_closing, vote_opened, vote_published
from market.notifications.services import notify_many

AHEAD = timedelta(days=1)  # "closing tomorrow": within the next 24 hours
PUBLISHED_RECENTLY = timedelta(days=7)  # older outcomes are not announced after an outage


def _vote(rnd: Round) -> Vote:
    link = f"/rounds/{rnd.id}/results" if rnd.status == RoundStatus.PUBLISHED else "/rounds/vote"
    return Vote(f"round-{rnd.id}", f"The budget round for {month_name(rnd.period)}", link,
                rnd.closes_at)  # fmt: skip


def _voters(rnd: Round) -> Select[int]:
    return select(RoundVoter.member_id).where(RoundVoter.round_id == rnd.id)


def round_notices(session: Session, now: datetime) -> int:
    """Opened and closing-tomorrow notices for open rounds; published for recent outcomes."""
    told = 0
    open_rounds = session.scalars(select(Round).where(Round.status.in_(ACTIVE_STATUSES)))
    for rnd in list(open_rounds):
        voters = select(Member).where(Member.id.in_(_voters(rnd)), good_standing(now))
        if rnd.status == RoundStatus.OPEN and now < rnd.closes_at:
            told += vote_opened(session, _vote(rnd), voters.order_by(Member.id))
            if rnd.closes_at - now <= AHEAD:
                voted = exists().where(Ballot.round_id == rnd.id, Ballot.member_id == Member.id)
                waiting = voters.where(~voted).order_by(Member.id)
                told += vote_closing(session, _vote(rnd), waiting)
    recent = session.scalars(
        select(Round).where(
            Round.status == RoundStatus.PUBLISHED,
            Round.published_at >= now - PUBLISHED_RECENTLY,
        )
    )
    for rnd in list(recent):
        members = select(Member).where(good_standing(now)).order_by(Member.id)
        told += vote_published(session, _vote(rnd), members)
    return told


def _deal_vote(ballot: DealBallot) -> Vote:
    return Vote(f"deal-ballot-{ballot.id}", f"The deal ballot “{ballot.title}”",
                f"/deal-ballots/{ballot.id}", ballot.closes_at)  # fmt: skip


def deal_ballot_notices(session: Session, now: datetime) -> int:
    """As for rounds: every member in good standing may approve deals on a deal ballot."""
    told = 0
    members = select(Member).where(good_standing(now)).order_by(Member.id)
    for ballot in session.scalars(select(DealBallot).where(DealBallot.status == "open")).all():
        if now >= ballot.closes_at:
            continue
        told += vote_opened(session, _deal_vote(ballot), members)
        if ballot.closes_at - now <= AHEAD:
            voted = exists().where(
                DealBallotVote.ballot_id == ballot.id, DealBallotVote.member_id == Member.id
            )
            waiting = members.where(~voted)
            told += vote_closing(session, _deal_vote(ballot), waiting)
    recent = select(DealBallot).where(
        DealBallot.status == "published", DealBallot.closed_at >= now - PUBLISHED_RECENTLY
    )
    for ballot in session.scalars(recent).all():
        told += vote_published(session, _deal_vote(ballot), members)
    return told


def grace_notices(session: Session, now: datetime) -> int:
    """Tell members past due whose grace period ends within a day (once per grace period)."""
    members = session.scalars(
        select(Member)
        .where(
            Member.status == MemberStatus.PAST_DUE.value,
            Member.grace_until > now,
            Member.grace_until <= now + AHEAD,
        )
        .order_by(Member.id)
    ).all()
    told = 0
    for member in members:
        assert member.grace_until is not None
        ends = f"{member.grace_until:%d %b %Y %H:%M} UTC"
        made = notify_many(
            session,
            [member],
            "dues.grace_ending",
            "Your grace period ends tomorrow",
            f"Your dues payment failed and your grace period ends at {ends}. After that "
            "your membership lapses and your licences are released. Update your card to "
            "stay a member.",
            "/dues",
            event_key=f"grace-ending:{member.id}:{member.grace_until:%Y%m%d%H%M}",
        )
        told += len(made)
    return told


def run_notices(session: Session, now: datetime) -> str:
    """Both kinds of scheduled notice; a line for the Jobs page."""
    rounds_told = round_notices(session, now)
    ballots_told = deal_ballot_notices(session, now)
    grace_told = grace_notices(session, now)
    return (
        f"Told {rounds_told} member(s) about rounds, {ballots_told} about deal ballots, "
        f"{grace_told} about grace ending."
    )
