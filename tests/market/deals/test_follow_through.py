"""Group buys that follow through: seats reserved for the committed, wants answered."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import claims, waitlist
from catalog.models import Claim, Product
from market.db import utcnow
from market.deals import demand
from market.deals.models import Commitment
from market.deals.settle import settle_deal
from market.errors import Conflict
from market.notifications.models import Notification
from tests.catalog.factories import make_channel
from tests.market.deals.factories import fund_channel, make_deal, make_want_request
from tests.market.factories import login_as, make_member


def test_tipping_claims_a_seat_for_each_committed_member_first(session: Session) -> None:
    channel = make_channel(session, name="Safe & Private")
    fund_channel(session, channel, 18_000)
    request = make_want_request(session, channel, wants=3, title="Penny Budget")
    deal, _ = make_deal(
        session, channel=channel, stage="accepted", min_members=50, want_request_id=request.id
    )
    committed = [make_member(session) for _ in range(52)]
    session.add_all(Commitment(deal_id=deal.id, member_id=m.id) for m in committed)
    session.flush()
    assert [line.request.id for line in demand.most_wanted(session, None)] == [request.id]

    settle_deal(session, deal.id, currency="usd", ratify_above=10**9, now=utcnow())
    session.expire_all()
    product = session.get(Product, deal.product_id)
    assert product is not None and product.seats_total == 52 and product.seats_used == 52
    holders = session.scalars(
        select(Claim.member_id).where(Claim.product_id == product.id, Claim.released_at.is_(None))
    ).all()
    assert sorted(holders) == sorted(m.id for m in committed)
    # Every seat went to a committed member: someone else finds none left.
    outsider = make_member(session)
    with pytest.raises(Conflict):
        claims.claim(session, outsider, product.id)
    told = session.scalars(
        select(Notification.body).where(Notification.kind == "deal_tipped")
    ).all()
    assert len(told) == 52 and all("claimed for you" in body for body in told)

    # The co-op now holds it: off the most-wanted list, and those who wanted it are told.
    assert demand.most_wanted(session, None) == []
    answered = session.scalar(
        select(func.count()).select_from(Notification).where(Notification.kind == "want_answered")
    )
    assert answered == 3


def test_a_sold_out_products_page_links_to_its_group_buy(
    make_app,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    channel = make_channel(session)
    deal, _ = make_deal(session, channel=channel, stage="accepted", min_members=50)
    product = session.get(Product, deal.product_id)
    assert product is not None and product.seats_total == 0  # nothing to claim yet
    web = login_as(make_app().test_client(), make_member(session))
    page = web.get(f"/catalogue/{product.id}").get_data(as_text=True)
    assert "None left right now" in page and f'href="/deals/{deal.id}"' in page
    assert "A group buy for more is running" in page


def test_members_waiting_for_a_sold_out_product_are_told_when_stock_arrives(
    make_app,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    app = make_app()
    app.config["WTF_CSRF_ENABLED"] = False
    channel = make_channel(session)
    fund_channel(session, channel, 18_000)
    deal, _ = make_deal(session, channel=channel, stage="accepted", group_buy=False)
    product = session.get(Product, deal.product_id)
    assert product is not None and product.seats_total == 0
    waiting = make_member(session)
    web = login_as(app.test_client(), waiting)
    assert web.post(f"/catalogue/{product.id}/waitlist", data={"action": "join"}).status_code == 303
    assert web.post(f"/catalogue/{product.id}/waitlist", data={"action": "join"}).status_code == 303
    assert waitlist.is_waiting(session, waiting, product.id)
    assert "You are on the waitlist" in web.get(f"/catalogue/{product.id}").get_data(as_text=True)

    settle_deal(session, deal.id, currency="usd", ratify_above=10**9, now=utcnow())
    session.expire_all()
    told = session.scalars(
        select(Notification.member_id).where(Notification.kind == "stock_arrived")
    ).all()
    assert told == [waiting.id]  # once, though the member asked twice
    assert not waitlist.is_waiting(session, waiting, product.id)
    # With stock on the shelf, waiting is refused: claim instead.
    refused = web.post(f"/catalogue/{product.id}/waitlist", data={"action": "join"})
    assert refused.status_code == 409 and not waitlist.is_waiting(session, waiting, product.id)
