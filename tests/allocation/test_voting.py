"""Members vote: split 100 % among the round's channels, revise, abstain; bad input is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation import rounds
from allocation.models import Ballot, BallotShare
from market.clock import month_end, month_start, period_of, previous_period
from market.db import utcnow
from market.errors import DomainError
from market.members.models import Member
from tests.allocation.factories import fund_pool, open_round, vote
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _form(channels: list, pcts: list[str], round_id: int, **extra: str) -> dict[str, str]:
    data = {f"share-{c.id}": p for c, p in zip(channels, pcts, strict=True)}
    return {"round_id": str(round_id), "action": "vote", **data, **extra}


def _ballots(session: Session, member: Member) -> list[Ballot]:
    session.expire_all()
    return list(
        session.scalars(select(Ballot).where(Ballot.member_id == member.id).order_by(Ballot.id))
    )


def test_member_splits_the_pool_and_gets_a_receipt(session: Session, login: Login) -> None:
    nia = make_member(session, display_name="Nia")
    rnd, chans = open_round(session, channels=["Safe & Private", "Know More", "Make Things"])
    fund_pool(session, rnd.period, 135_000)
    session.commit()
    client = login(nia)
    page = client.get("/rounds/vote").get_data(as_text=True)
    assert "$1,350.00" in page and "Safe &amp; Private" in page
    assert "You have not voted in this round yet" in page

    resp = client.post(f"/rounds/{rnd.id}/vote", data=_form(chans, ["50", "30", "20"], rnd.id))
    assert resp.status_code == 302
    page = client.get("/rounds/vote").get_data(as_text=True)
    [ballot] = _ballots(session, nia)
    assert (
        ballot.is_current
        and ballot.split == f"{chans[0].id}:5000,{chans[1].id}:3000,{chans[2].id}:2000"
    )
    assert f"Receipt: {ballot.receipt}" in page and "kept on My" in page
    assert "Your split below is <strong>counted</strong>" in page
    assert 'value="50"' in page and 'value="30"' in page


def test_changing_the_split_keeps_every_revision(session: Session, login: Login) -> None:
    member = make_member(session)
    rnd, chans = open_round(session)
    session.commit()
    client = login(member)
    client.post(f"/rounds/{rnd.id}/vote", data=_form(chans, ["50", "30", "20"], rnd.id))
    client.post(f"/rounds/{rnd.id}/vote", data=_form(chans, ["33.34", "33.33", "33.33"], rnd.id))
    first, second = _ballots(session, member)
    assert not first.is_current and second.is_current
    shares = session.execute(
        select(BallotShare.channel_id, BallotShare.bp)
        .where(BallotShare.round_id == rnd.id)
        .order_by(BallotShare.channel_id)
    ).all()
    assert [bp for _c, bp in shares] == [3334, 3333, 3333]  # only the current ballot counts


@pytest.mark.parametrize(
    ("pcts", "message"),
    [
        (["50", "30", "10"], "adds up to 90 %"),
        (["120", "-10", "-10"], "between 0 and 100"),
        (["50", "30", "20.005"], "at most two decimals"),
        (["fifty", "30", "20"], "is not a percentage"),
    ],
)
def test_bad_splits_are_refused_and_nothing_is_written(
    session: Session, login: Login, pcts: list[str], message: str
) -> None:
    member = make_member(session)
    rnd, chans = open_round(session)
    session.commit()
    resp = login(member).post(f"/rounds/{rnd.id}/vote", data=_form(chans, pcts, rnd.id))
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert _ballots(session, member) == []


def test_unknown_channels_and_tampered_fields_are_refused(session: Session, login: Login) -> None:
    member = make_member(session)
    rnd, chans = open_round(session)
    session.commit()
    client = login(member)
    unknown = _form(chans, ["50", "30", "10"], rnd.id, **{"share-99999": "10"})
    resp = client.post(f"/rounds/{rnd.id}/vote", data=unknown)
    assert resp.status_code == 400 and "not on this round" in resp.get_data(as_text=True)
    tampered = _form(chans, ["50", "30", "20"], rnd.id + 1)
    assert client.post(f"/rounds/{rnd.id}/vote", data=tampered).status_code == 400
    assert client.post(f"/rounds/{rnd.id + 7}/vote", data=tampered).status_code == 409
    assert _ballots(session, member) == []


def test_lapsed_and_late_joiners_are_refused_with_the_reason(
    session: Session, login: Login
) -> None:
    lapsing = make_member(session)
    rnd, chans = open_round(session)
    late = make_member(session)  # joined after the round opened: not in the snapshot
    lapsing.status = "lapsed"
    session.commit()
    data = _form(chans, ["50", "30", "20"], rnd.id)
    resp = login(lapsing).post(f"/rounds/{rnd.id}/vote", data=data)
    assert resp.status_code == 403
    assert "Your membership is lapsed" in resp.get_data(as_text=True)
    resp = login(late).post(f"/rounds/{rnd.id}/vote", data=data)
    assert resp.status_code == 403
    assert "in good standing when the round opened" in resp.get_data(as_text=True)
    assert _ballots(session, lapsing) == [] and _ballots(session, late) == []


def test_abstaining_withdraws_the_split(session: Session, login: Login) -> None:
    member = make_member(session)
    rnd, chans = open_round(session)
    session.commit()
    client = login(member)
    client.post(f"/rounds/{rnd.id}/vote", data=_form(chans, ["50", "30", "20"], rnd.id))
    client.post(f"/rounds/{rnd.id}/vote", data={"round_id": str(rnd.id), "action": "abstain"})
    first, second = _ballots(session, member)
    assert second.abstain and second.is_current and not first.is_current
    count = session.scalar(select(func.count()).select_from(BallotShare))
    assert count == 0
    assert "You <strong>abstain</strong>" in client.get("/rounds/vote").get_data(as_text=True)


def test_a_standing_split_carries_into_the_next_round(session: Session, login: Login) -> None:
    admin = make_member(session, admin=True)
    stays, abstains, changes_class = (make_member(session) for _ in range(3))
    now = utcnow()
    last_month = previous_period(period_of(now))
    then = month_start(last_month) + timedelta(days=1)  # last month's round, when it ran
    october, chans = open_round(session, admin, period=last_month, now=then, closes_at=None)
    vote(session, stays, october, {chans[0].id: 6000, chans[1].id: 4000}, now=then)
    vote(session, abstains, october, {chans[0].id: 10000}, now=then)
    from allocation import ballots

    ballots.abstain(session, abstains, october.id, now=then)
    october.status = "published"  # as if closed
    november = rounds.open_round(session, admin, period_of(now), closes_at=now + timedelta(days=3))
    session.commit()
    carried = session.scalars(select(Ballot).where(Ballot.round_id == november.id)).all()
    assert [(b.member_id, b.split, b.carried_over) for b in carried] == [
        (stays.id, f"{chans[0].id}:6000,{chans[1].id}:4000", True)
    ]
    assert carried[0].receipt and len(carried[0].receipt) == 64
    page = login(stays).get("/rounds/vote").get_data(as_text=True)
    assert f"Your split from <strong>{rounds.month_name(last_month)}</strong> stands" in page
    assert changes_class  # voted nowhere: nothing to carry


def test_voting_after_the_closing_time_is_refused(session: Session, login: Login) -> None:
    member = make_member(session)
    rnd, chans = open_round(session)
    rnd.closes_at = utcnow() - timedelta(minutes=1)
    session.commit()
    resp = login(member).post(
        f"/rounds/{rnd.id}/vote", data=_form(chans, ["50", "30", "20"], rnd.id)
    )
    assert resp.status_code == 409 and "has ended" in resp.get_data(as_text=True)
    assert _ballots(session, member) == []


def test_a_round_opens_only_for_a_month_that_has_not_ended(session: Session) -> None:
    admin = make_member(session, admin=True)
    now = utcnow()
    last_month = previous_period(period_of(now))
    with pytest.raises(DomainError, match="has ended"):
        open_round(session, admin, period=last_month, now=now)
    # In the last minute of a month, this month's round still opens and closes in the future.
    late = month_end(period_of(now)) - timedelta(seconds=30)
    rnd, _ = open_round(session, admin, period=period_of(now), now=late, closes_at=None)
    assert rnd.opens_at == late < rnd.closes_at == month_end(period_of(now))
