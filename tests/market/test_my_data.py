"""Download my data, and delete my account: the person goes, the co-op's history stays."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation.models import Ballot, BallotShare, Round
from catalog import claims
from catalog.models import Claim
from market.billing.models import DuesAccount
from market.clock import utcnow
from market.deals import demand, groupbuy
from market.deals.models import Commitment, Want
from market.discussions.models import Comment
from market.discussions.services import get_subject, post_comment
from market.members.account import FORMER_NAME, tombstone_email
from market.members.models import Member
from market.members.sessions import open_count
from market.notifications.models import Notification
from market.notifications.services import notify
from market.proposals import services as proposals
from tests.allocation.factories import open_round, pay_dues, vote
from tests.catalog.factories import make_channel, make_product
from tests.market.deals.factories import make_deal
from tests.market.factories import PASSWORD, make_member, make_proposal

Login = Callable[[Member], FlaskClient]


def _busy_member(session: Session) -> dict[str, object]:
    """A member with something in every package: a licence, a vote, a want, a group buy…"""
    now = utcnow()
    member = make_member(session, email="leaving@example.com", display_name="Lee Leaving")
    pay_dues(session, member, f"{now:%Y-%m}")
    product = make_product(session, keys=2)
    claim_id = claims.claim(session, member, product.id, now)
    rnd, channels = open_round(session, now=now)
    vote(session, member, rnd, {channels[0].id: 10_000}, now=now)
    request = demand.ask_for(session, member, "Budget Buddy", "Penny Labs", "", channels[0].id)
    deal, _ = make_deal(session, stage="accepted", channel=make_channel(session))
    groupbuy.commit(session, member, deal, now)
    proposal = make_proposal(session)
    proposals.take_position(session, member, proposal, "agree", None, now=now)
    notify(session, member, "test.note", "Hello Lee", "A note for Lee", "/")
    subject = get_subject(session, "proposal", proposal.id)
    post_comment(session, member, subject, "I agree, **gladly**.", None, now)
    session.flush()
    return {"member": member, "claim_id": claim_id, "round": rnd, "request": request}


def test_my_data_holds_every_part_and_nobody_else(session: Session, login: Login) -> None:
    setup = _busy_member(session)
    other = make_member(session, email="someone-else@example.com")
    notify(session, other, "test.note", "Not for Lee", "private", "/")
    session.commit()
    page = login(setup["member"]).get("/profile/data.json")  # type: ignore[arg-type]
    assert page.status_code == 200
    assert "attachment" in page.headers["Content-Disposition"]
    data = json.loads(page.data)
    assert data["profile"]["email"] == "leaving@example.com"
    assert [i["status"] for i in data["dues"]["invoices"]] == ["paid"]
    assert len(data["licences"]) == 1 and data["licences"][0]["key"]
    assert data["ballots"][0]["current"] and data["ballots"][0]["receipt"]
    assert [w["software"] for w in data["wants_and_group_buys"]["wants"]] == ["Budget Buddy"]
    assert len(data["wants_and_group_buys"]["group_buy_commitments"]) == 1
    assert [p["stance"] for p in data["decisions"]["positions"]] == ["agree"]
    assert "Hello Lee" in [n["subject"] for n in data["inbox"]]
    assert [c["body"] for c in data["comments"]] == ["I agree, **gladly**."]
    assert b"someone-else" not in page.data and b"Not for Lee" not in page.data


def test_deleting_erases_the_person_and_keeps_the_books(
    session: Session, login: Login, client: FlaskClient
) -> None:
    setup = _busy_member(session)
    member = setup["member"]
    assert isinstance(member, Member)
    session.commit()
    login(member)
    got = client.post(
        "/profile/delete", data={"password": PASSWORD, "understood": "y"}, follow_redirects=False
    )
    assert got.status_code == 302
    session.expire_all()
    gone = session.get(Member, member.id)
    assert gone is not None and gone.deleted_at is not None
    assert gone.email == tombstone_email(member.id) and gone.display_name == FORMER_NAME
    assert gone.in_good_standing(utcnow()) is False
    assert open_count(session, member.id) == 0
    claim = session.get(Claim, setup["claim_id"])
    assert claim is not None and claim.released_at is not None  # the licence went back
    standing = session.scalars(
        select(Ballot).where(Ballot.member_id == member.id, Ballot.is_current)
    ).all()
    assert standing == []
    rnd = setup["round"]
    assert isinstance(rnd, Round)
    assert session.scalars(select(BallotShare).where(BallotShare.round_id == rnd.id)).all() == []
    assert session.scalars(select(Want).where(Want.member_id == member.id)).all() == []
    written = session.scalars(select(Comment).where(Comment.author_id == member.id)).all()
    assert [(c.body, c.deleted_at is not None) for c in written] == [("", True)]
    assert session.scalars(select(Commitment).where(Commitment.member_id == member.id)).all() == []
    assert (
        session.scalars(select(Notification).where(Notification.member_id == member.id)).all() == []
    )
    # Logged out here; the old email and password open nothing; the address is free again.
    assert client.get("/profile").status_code == 302
    login_page = client.post("/login", data={"email": "leaving@example.com", "password": PASSWORD})
    assert login_page.status_code != 302
    assert make_member(session, email="leaving@example.com").id != member.id


@pytest.mark.parametrize(
    ("form", "why"),
    [
        ({"password": "not my password", "understood": "y"}, "password is not right"),
        ({"password": PASSWORD}, "Tick the box"),
    ],
)
def test_a_refused_deletion_changes_nothing(
    session: Session, login: Login, client: FlaskClient, form: dict[str, str], why: str
) -> None:
    setup = _busy_member(session)
    member = setup["member"]
    assert isinstance(member, Member)
    session.commit()
    login(member)
    got = client.post("/profile/delete", data=form)
    assert got.status_code == 400 and why in got.get_data(as_text=True)
    session.expire_all()
    assert session.get(Member, member.id).deleted_at is None  # type: ignore[union-attr]
    assert session.get(Claim, setup["claim_id"]).released_at is None  # type: ignore[union-attr]


def test_dues_that_still_renew_refuse_the_whole_deletion(
    session: Session, login: Login, client: FlaskClient
) -> None:
    setup = _busy_member(session)
    member = setup["member"]
    assert isinstance(member, Member)
    session.add(DuesAccount(member_id=member.id, customer_id="cus_x", sub_status="active"))
    session.commit()
    login(member)
    got = client.post("/profile/delete", data={"password": PASSWORD, "understood": "y"})
    assert got.status_code == 400 and "Cancel them on My dues first" in got.get_data(as_text=True)
    session.expire_all()
    # The erasers that ran before the refusal are undone with it: the licence is still held.
    assert session.get(Claim, setup["claim_id"]).released_at is None  # type: ignore[union-attr]
    assert session.get(Member, member.id).email == "leaving@example.com"  # type: ignore[union-attr]
    account = session.scalar(select(DuesAccount).where(DuesAccount.member_id == member.id))
    assert account is not None
    account.cancel_at_period_end = True
    session.commit()
    got = client.post("/profile/delete", data={"password": PASSWORD, "understood": "y"})
    assert got.status_code == 302


def test_an_admin_cannot_delete_themselves(
    session: Session, login: Login, client: FlaskClient
) -> None:
    admin = make_member(session, admin=True)
    session.commit()
    login(admin)
    got = client.post("/profile/delete", data={"password": PASSWORD, "understood": "y"})
    assert got.status_code == 400 and "admin" in got.get_data(as_text=True)


def test_the_deletion_page_says_what_goes_and_what_stays(
    session: Session, login: Login, client: FlaskClient
) -> None:
    member = make_member(session)
    session.commit()
    text = login(member).get("/profile/delete").get_data(as_text=True)
    assert "a copy of your data" in text and "books and published audit files" in text
    assert "Delete my account" in login(member).get("/profile").get_data(as_text=True)
