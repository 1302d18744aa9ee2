"""Group buys: commit/withdraw until the deadline; settle tips (books, seats) or lapses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Product
from market.db import utcnow
from market.deals.models import Commitment, Deal
from market.deals.settle import add_months
from market.ledger.models import LedgerTransaction
from market.ledger.services import balance, channel_code, vendor_code
from market.members.models import Member
from market.notifications.models import Notification
from tests.catalog.factories import make_channel
from tests.market.deals.factories import fund_channel, make_deal
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _commit_many(session: Session, deal: Deal, count: int) -> list[Member]:
    members = [make_member(session) for _ in range(count)]
    session.add_all(Commitment(deal_id=deal.id, member_id=m.id) for m in members)
    session.flush()
    return members


def _committed(session: Session, deal: Deal) -> int:
    query = select(func.count(Commitment.id)).where(Commitment.deal_id == deal.id)
    return session.scalar(query) or 0


def test_commit_withdraw_and_the_refusals(session: Session, login: Login) -> None:
    deal, _ = make_deal(session, stage="accepted", min_members=50)
    _commit_many(session, deal, 47)
    nia = make_member(session)
    client = login(nia)
    page = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "47 of 50" in page and "Commit: count me in" in page
    assert client.post(f"/deals/{deal.id}/commit").status_code == 302
    assert "48 of 50" in client.get(f"/deals/{deal.id}").get_data(as_text=True)
    twice = client.post(f"/deals/{deal.id}/commit")
    assert twice.status_code == 409 and "already committed" in twice.get_data(as_text=True)
    assert _committed(session, deal) == 48
    assert client.post(f"/deals/{deal.id}/withdraw").status_code == 302
    assert _committed(session, deal) == 47

    lapsed = login(make_member(session, status="lapsed"), client.application.test_client())
    refused = lapsed.post(f"/deals/{deal.id}/commit")
    assert refused.status_code == 403 and "good standing" in refused.get_data(as_text=True)

    deal.deadline = utcnow() - timedelta(minutes=1)
    session.flush()
    late = client.post(f"/deals/{deal.id}/commit")
    assert late.status_code == 409 and "deadline has passed" in late.get_data(as_text=True)
    assert _committed(session, deal) == 47


def test_members_cannot_see_deals_still_in_negotiation(session: Session, login: Login) -> None:
    deal, _ = make_deal(session, stage="offered")
    client = login(make_member(session))
    assert client.get(f"/deals/{deal.id}").status_code == 404
    assert client.post(f"/deals/{deal.id}/commit").status_code == 404


def test_settle_the_story_tips_at_57_for_51_30(session: Session, login: Login) -> None:
    """57 committed with tiers 1.20/0.90/0.70 and minimum 50: $51.30 booked, 57 seats."""
    channel = make_channel(session, name="Safe & Private")
    fund_channel(session, channel, 18_000)
    deal, _ = make_deal(session, channel=channel, stage="accepted", min_members=50)
    product = session.get(Product, deal.product_id)
    assert product is not None
    members = _commit_many(session, deal, 57)
    admin = make_member(session, admin=True)
    client = login(admin)
    response = client.post(f"/admin/deals/{deal.id}/settle")
    assert response.status_code == 302
    session.expire_all()
    assert deal.status == "active" and deal.seats_bought == 57 and deal.cost_cents == 5130
    assert balance(session, vendor_code(deal.vendor_id)) == 5130
    assert balance(session, channel_code(channel.id)) == 18_000 - 5130
    assert product.seats_total == 57
    assert deal.ends_at is not None and deal.settled_at is not None
    assert deal.ends_at == add_months(deal.settled_at, 12)
    notes = session.scalars(select(Notification).where(Notification.kind == "deal_tipped")).all()
    assert sorted(n.member_id for n in notes) == sorted(m.id for m in members)
    page = (
        login(members[0], client.application.test_client())
        .get(f"/deals/{deal.id}")
        .get_data(as_text=True)
    )
    assert "$51.30 a month" in page and "57 seats" in page and "It tipped" in page

    # Settling again changes nothing.
    again = client.post(f"/admin/deals/{deal.id}/settle")
    assert again.status_code == 302
    session.expire_all()
    keys = select(func.count(LedgerTransaction.id)).where(LedgerTransaction.key.like("deal:%"))
    assert session.scalar(keys) == 1
    assert product.seats_total == 57


def test_overspending_the_channel_is_refused_with_figures(session: Session, login: Login) -> None:
    channel = make_channel(session, name="Safe & Private")
    fund_channel(session, channel, 4000)
    deal, _ = make_deal(session, channel=channel, stage="accepted", min_members=50)
    _commit_many(session, deal, 57)
    client = login(make_member(session, admin=True))
    response = client.post(f"/admin/deals/{deal.id}/settle")
    assert response.status_code == 400
    assert "Safe &amp; Private has $40.00 available; this deal costs $51.30." in response.get_data(
        as_text=True
    )
    session.expire_all()
    assert deal.status == "accepted" and deal.settled_at is None
    assert balance(session, vendor_code(deal.vendor_id)) == 0
    assert session.get(Product, deal.product_id).seats_total == 0  # type: ignore[union-attr]


def test_not_enough_before_the_deadline_waits(app: Flask, session: Session) -> None:
    deal, _ = make_deal(session, stage="accepted", min_members=50)
    _commit_many(session, deal, 47)
    result = app.test_cli_runner().invoke(args=["deals", "settle", "--deal", str(deal.id)])
    assert result.exit_code == 0, result.output
    assert "waiting" in result.output and "47 of 50" in result.output
    session.expire_all()
    assert deal.status == "accepted" and deal.settled_at is None


def test_after_the_deadline_it_lapses_and_members_are_told(app: Flask, session: Session) -> None:
    channel = make_channel(session)
    fund_channel(session, channel, 18_000)
    deal, _ = make_deal(session, channel=channel, stage="accepted", min_members=50)
    members = _commit_many(session, deal, 12)
    deal.deadline = utcnow() - timedelta(minutes=5)
    session.flush()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["deals", "settle"])
    assert result.exit_code == 0, result.output
    assert f"deal {deal.id}: lapsed" in result.output
    session.expire_all()
    assert deal.status == "lapsed" and deal.cost_cents is None
    assert balance(session, channel_code(channel.id)) == 18_000
    lapsed = session.scalars(select(Notification).where(Notification.kind == "deal_lapsed")).all()
    assert {n.member_id for n in lapsed} == {m.id for m in members}
    second = runner.invoke(args=["deals", "settle", "--deal", str(deal.id)])
    assert "already settled" in second.output
    # (the vendor's offer also told the admin: deal.vendor_answer, not a settle notice)
    settled = select(func.count(Notification.id)).where(Notification.kind != "deal.vendor_answer")
    assert session.scalar(settled) == 12


def test_a_direct_deal_settles_for_its_wanted_seats(app: Flask, session: Session) -> None:
    channel = make_channel(session)
    fund_channel(session, channel, 10_000)
    deal, _ = make_deal(
        session, channel=channel, stage="accepted", group_buy=False, seats_wanted=60
    )
    result = app.test_cli_runner().invoke(args=["deals", "settle"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert deal.status == "active" and deal.cost_cents == 60 * 90
    assert balance(session, vendor_code(deal.vendor_id)) == 5400


def test_expired_terms_end_active_deals(app: Flask, session: Session) -> None:
    channel = make_channel(session)
    fund_channel(session, channel, 10_000)
    deal, _ = make_deal(session, channel=channel, stage="accepted", group_buy=False)
    runner = app.test_cli_runner()
    runner.invoke(args=["deals", "settle"])
    session.expire_all()
    deal.ends_at = utcnow() - timedelta(days=1)
    session.flush()
    result = runner.invoke(args=["deals", "settle"])
    assert f"deal {deal.id}: expired" in result.output
    session.expire_all()
    assert deal.status == "expired"


def test_only_members_in_good_standing_at_settle_time_tip_a_group_buy(
    session: Session, login: Login
) -> None:
    channel = make_channel(session)
    fund_channel(session, channel, 18_000)
    deal, _ = make_deal(session, channel=channel, stage="accepted", min_members=50)
    paying = _commit_many(session, deal, 47)
    paying[0].start_grace(3)  # past due but within grace: still in good standing
    for member in _commit_many(session, deal, 5):
        member.status = "lapsed"  # their dues lapsed after they committed
    session.flush()
    admin = login(make_member(session, admin=True))
    page = admin.get(f"/admin/deals/{deal.id}").get_data(as_text=True)
    assert "47 of 50" in page and "5 more committed but their dues are not paid up" in page
    waiting = admin.post(f"/admin/deals/{deal.id}/settle", follow_redirects=True)
    assert "47 of 50 members have committed" in waiting.get_data(as_text=True)
    session.expire_all()
    assert deal.status == "accepted" and deal.settled_at is None

    late_payers = _commit_many(session, deal, 3)
    assert admin.post(f"/admin/deals/{deal.id}/settle").status_code == 302
    session.expire_all()
    assert deal.status == "active" and deal.seats_bought == 50
    tipped = session.scalars(select(Notification).where(Notification.kind == "deal_tipped"))
    assert sorted(n.member_id for n in tipped) == sorted(m.id for m in paying + late_payers)
