"""Notices the schedule sends: a round opened, closing tomorrow, published; grace ending.
Each member is told once per event however often the job runs; preferences apply."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from allocation.models import Round, RoundStatus
from market.db import utcnow
from market.dealballots.closing import close_ballot
from market.dealballots.services import cast_approvals
from market.jobs.notices import run_notices
from market.members.models import Member, MemberStatus
from market.notifications.events import Vote, vote_opened
from market.notifications.models import Notification, OutboxMessage
from market.notifications.preferences import save_choices
from tests.allocation.factories import open_round, vote
from tests.catalog.factories import make_channel
from tests.market.dealballots.factories import accepted_deals, open_ballot
from tests.market.deals.factories import fund_channel
from tests.market.factories import make_member


def _told(session: Session, kind: str) -> list[int]:
    query = select(Notification.member_id).where(Notification.kind == kind)
    return sorted(session.scalars(query.order_by(Notification.member_id)))


def test_round_notices_once_per_member_per_event(session: Session) -> None:
    now = utcnow()
    voted, waiting = make_member(session), make_member(session)
    lapsed = make_member(session, status=MemberStatus.LAPSED)
    rnd, channels = open_round(session, now=now)
    admin_ids = list(session.scalars(select(Member.id).where(Member.is_admin)))
    run_notices(session, now)
    run_notices(session, now + timedelta(minutes=10))
    opened = _told(session, "vote.opened")
    assert opened == sorted([voted.id, waiting.id, *admin_ids]) and lapsed.id not in opened
    assert _told(session, "vote.closing") == []
    vote(session, voted, rnd, {channels[0].id: 10_000})
    later = rnd.closes_at - timedelta(hours=20)  # "tomorrow": within a day of the close
    run_notices(session, later)
    run_notices(session, later + timedelta(minutes=10))
    assert voted.id not in _told(session, "vote.closing")
    assert waiting.id in _told(session, "vote.closing")
    assert len(_told(session, "vote.closing")) == len(set(_told(session, "vote.closing")))
    session.execute(
        update(Round)
        .where(Round.id == rnd.id)
        .values(status=RoundStatus.PUBLISHED.value, published_at=rnd.closes_at)
    )
    session.expire_all()
    after = rnd.closes_at + timedelta(minutes=5)
    run_notices(session, after)
    run_notices(session, after + timedelta(hours=1))
    published = _told(session, "vote.published")
    assert {voted.id, waiting.id} <= set(published) and len(published) == len(set(published))
    note = session.scalars(
        select(Notification).where(Notification.kind == "vote.published").limit(1)
    ).one()
    assert note.link == f"/rounds/{rnd.id}/results"


def test_a_run_with_nothing_new_loads_no_member(session: Session) -> None:
    # Every few minutes, over every member in good standing: told already means not loaded.
    now = utcnow()
    for _ in range(6):
        make_member(session)
    published, _ = open_round(session, now=now - timedelta(days=32))
    session.execute(
        update(Round)
        .where(Round.id == published.id)
        .values(status=RoundStatus.PUBLISHED.value, published_at=now)
    )
    rnd, _channels = open_round(session, now=now)
    closing = rnd.closes_at - timedelta(hours=20)
    assert run_notices(session, closing).startswith("Told ")
    told = session.scalar(select(func.count()).select_from(Notification))
    assert told and told >= 3 * 6  # opened, closing and published, to each of them
    session.expunge_all()  # so a member a query returns is built again, and counted
    loaded: list[int] = []

    def count(member: Member, _context: object) -> None:
        loaded.append(member.id)

    event.listen(Member, "load", count)
    try:
        line = run_notices(session, closing + timedelta(minutes=5))
    finally:
        event.remove(Member, "load", count)
    assert line.startswith("Told 0 member(s) about rounds")
    assert loaded == []
    assert session.scalar(select(func.count()).select_from(Notification)) == told


def test_vote_notices_follow_preferences(session: Session) -> None:
    quiet, loud = make_member(session), make_member(session)
    save_choices(session, quiet, inbox={"vote.opened"}, email=set(), digest=False)
    ballot = Vote("deal-ballot-7", "The deal ballot for this month", "/ballots/7",
                  utcnow() + timedelta(days=3))  # fmt: skip
    assert vote_opened(session, ballot, [quiet, loud]) == 2
    assert vote_opened(session, ballot, [quiet, loud]) == 0  # once per member per event
    mailed = session.scalars(
        select(OutboxMessage.to_email).where(OutboxMessage.kind == "vote.opened")
    ).all()
    assert mailed == [loud.email]


def test_grace_ending_tomorrow_is_said_once(session: Session) -> None:
    now = utcnow()
    ending = make_member(
        session, status=MemberStatus.PAST_DUE, grace_until=now + timedelta(hours=10)
    )
    later = make_member(session, status=MemberStatus.PAST_DUE, grace_until=now + timedelta(days=5))
    run_notices(session, now)
    run_notices(session, now + timedelta(minutes=30))
    assert _told(session, "dues.grace_ending") == [ending.id]
    assert later.id not in _told(session, "dues.grace_ending")
    count = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "dues.grace_ending")
    )
    assert count == 1


def test_deal_ballot_notices_once_per_member_per_event(session: Session, tmp_path: Path) -> None:
    now = utcnow()
    admin = make_member(session, admin=True)
    channel = make_channel(session, name="Safe & Private")
    fund_channel(session, channel, 15_000)
    deals = accepted_deals(session, admin, channel, [60, 100])
    approver, waiting = make_member(session), make_member(session)
    lapsed = make_member(session, status=MemberStatus.LAPSED)
    ballot = open_ballot(session, channel, deals, admin=admin, closes_in=timedelta(days=3))
    before = set(_told(session, "vote.opened"))
    run_notices(session, now)
    run_notices(session, now + timedelta(minutes=10))
    opened = set(_told(session, "vote.opened")) - before
    assert {approver.id, waiting.id} <= opened and lapsed.id not in opened
    cast_approvals(session, approver, ballot.id, [deals[0].id], now)
    run_notices(session, ballot.closes_at - timedelta(hours=20))
    run_notices(session, ballot.closes_at - timedelta(hours=19))
    closing = _told(session, "vote.closing")
    assert waiting.id in closing and approver.id not in closing
    assert closing.count(waiting.id) == 1
    close_ballot(session, ballot.id, currency="usd", now=ballot.closes_at)
    run_notices(session, ballot.closes_at + timedelta(minutes=5))
    run_notices(session, ballot.closes_at + timedelta(minutes=15))
    published = _told(session, "vote.published")
    assert published.count(approver.id) == 1 and published.count(waiting.id) == 1
    notes = session.scalars(
        select(Notification.subject).where(Notification.member_id == waiting.id)
    ).all()
    assert any("Safe & Private buy" in subject for subject in notes)
