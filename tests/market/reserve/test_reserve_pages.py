"""The reserve seen by people: progress on the home page and the Books, its public history,
the admins' target, the quorum on a decision and the admins' limit on a deal page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.deals import negotiation
from market.deals.negotiation import Terms
from market.deals.states import Actor
from market.deals.tiers import Tier
from market.members.models import Member, good_standing
from market.proposals.models import Proposal
from market.proposals.services import take_position
from market.reserve.models import ReserveTarget
from market.reserve.spending import settle_spend
from tests.catalog.factories import make_vendor
from tests.market.deals.factories import make_deal
from tests.market.factories import login_as, make_member
from tests.market.reserve.factories import decide, make_reserve, propose

Login = Callable[..., FlaskClient]


def test_anyone_sees_the_reserve_grow_and_be_spent(app: Flask, session: Session) -> None:
    make_reserve(session, cents=25_000, target=100_000)
    vendor = make_vendor(session, name="Harbor Systems")
    spend = propose(session, vendor, 5_000)
    decide(session, spend, ["agree", "agree"])
    settle_spend(session, spend.id)
    blocked = propose(session, vendor, 1_000)
    decide(session, blocked, ["agree", "block"])
    settle_spend(session, blocked.id)
    anyone = app.test_client()
    for url in ("/", "/books", "/reserve/"):
        page = anyone.get(url).get_data(as_text=True)
        assert '<progress id="' in page and 'max="100000" value="20000"' in page, url
        assert "$200.00 of $1,000.00" in page and "a platform of our own" in page, url
    history = anyone.get("/reserve/").get_data(as_text=True)
    assert "Harbor Systems" in history and "spent" in history
    assert "not passed: nothing moved" in history and "standing block" in history
    assert "Target set to $1,000.00" in history and "-$50.00" in history


def test_admin_sets_the_target_and_bad_targets_change_nothing(
    app: Flask, session: Session, login: Login
) -> None:
    make_reserve(session, target=100_000)
    client = login(make_member(session, admin=True))
    assert "On the monthly ballot" in client.get("/admin/reserve/").get_data(as_text=True)
    for bad in ("0", "-1", "1.005", "lots"):
        response = client.post("/admin/reserve/", data={"target-target": bad})
        assert response.status_code == 400, bad
    assert session.scalar(select(func.count()).select_from(ReserveTarget)) == 1
    ok = client.post(
        "/admin/reserve/", data={"target-target": "2,500", "target-purpose": "Kestrel"}
    )
    assert ok.status_code == 302
    assert "$0.00 of $2,500.00" in app.test_client().get("/").get_data(as_text=True)
    member = login_as(app.test_client(), make_member(session))
    assert member.get("/admin/reserve/").status_code == 403


def test_a_ratification_shows_its_quorum_and_does_not_pass_below_it(
    make_app: Callable[..., Flask], session: Session
) -> None:
    app = make_app(RATIFY_ABOVE_CENTS=50_000, MONEY_QUORUM_BP=2000)
    admin = make_member(session, admin=True)
    for _ in range(30):
        make_member(session)
    deal, _ = make_deal(session, admin=admin, stage="offered", group_buy=False)
    # $60 a month for 12 months: $720 in all, above the $500 admins may agree alone.
    negotiation.make_offer(session, deal, Actor.VENDOR, Terms([Tier(1, 100)], 1, 12))
    client = login_as(app.test_client(), admin)
    page = client.get(f"/admin/deals/{deal.id}").get_data(as_text=True)
    assert "up to $500.00 of total commitment" in page
    assert "This offer commits <strong>$720.00</strong> ($60.00 a month × 12 months)" in page
    assert "must ratify it first" in page
    refused = client.post(f"/admin/deals/{deal.id}/accept")
    assert refused.status_code == 409 and "commits $720.00 in all" in refused.get_data(as_text=True)
    closes = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert (
        client.post(f"/admin/deals/{deal.id}/ratify", data={"closes_at": closes}).status_code == 302
    )
    proposal = session.scalars(select(Proposal).order_by(Proposal.id.desc())).first()
    in_good_standing = select(func.count()).select_from(Member).where(good_standing(utcnow()))
    members = session.scalar(in_good_standing) or 0
    assert proposal is not None and proposal.quorum_bp == 2000 and proposal.quorum_base == members
    needed = -(-members // 5)  # 20 %, rounded up
    for _ in range(needed - 1):
        take_position(session, make_member(session), proposal, "agree", None)
    shown = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert f"{needed} members (20 % of the {members} in good standing when it opened)" in shown
    assert f"{needed - 1} have so far" in shown
    proposal.closes_at = utcnow() - timedelta(minutes=1)
    session.flush()
    refused = client.post(f"/admin/deals/{deal.id}/accept")
    assert refused.status_code == 409
    assert f"below its quorum: {needed - 1} of the {needed} members needed" in refused.get_data(
        as_text=True
    )
    take_position_closed = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "closed below quorum and did not pass" in take_position_closed


def test_my_data_holds_the_spends_i_proposed(app: Flask, session: Session, login: Login) -> None:
    make_reserve(session, cents=2_000)
    member = make_member(session)
    propose(session, make_vendor(session, name="Tern Labs"), 1_500, author=member)
    propose(session, make_vendor(session), 500)  # someone else's
    data = login(member).get("/profile/data.json").get_json()
    [mine] = data["acquisition reserve"]["spends_proposed"]
    assert (mine["payee"], mine["amount_cents"], mine["status"]) == ("Tern Labs", 1_500, "pending")
