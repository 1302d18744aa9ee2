"""The member's home page: a card per part of the co-op, saying what needs them."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import claims
from catalog.models import Channel, ChannelKind, Product
from market import web
from market.members.models import Member
from tests.allocation.factories import fund_pool, open_round, vote
from tests.catalog.factories import make_product
from tests.market.factories import make_member, make_proposal


def test_anonymous_visitors_see_no_cards(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Join the co-op" in page and "home-cards" not in page


def test_cards_say_what_needs_the_member(
    session: Session, login: Callable[[Member], FlaskClient]
) -> None:
    member = make_member(session)
    client = login(member)
    page = client.get("/").get_data(as_text=True)
    assert "You hold no licences yet" in page
    assert "budget vote" not in page and "Decisions" not in page.split("home-cards")[-1]

    rnd, channels = open_round(session)
    product = make_product(session, keys=3)
    claims.claim(session, member, product.id)
    make_proposal(session)
    session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "You hold 1 licence." in page
    assert "You have no split in this round." in page
    assert "1 proposal is open; 1 still without your position." in page

    vote(session, member, rnd, {channels[0].id: 10_000})
    session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Your split is in; you can change it until" in page


def test_front_door_says_cost_numbers_and_how_money_is_decided(
    session: Session, client: FlaskClient
) -> None:
    make_product(session, keys=3)
    make_member(session)
    rnd, _ = open_round(session)
    fund_pool(session, rnd.period, 12_345)
    session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "$5.00 a month, flat." in page and "$123.45" in page
    assert "products from" in page and "members in good standing" in page
    bundles = session.scalar(  # the shelf's three counts, read one by one
        select(func.count()).where(Channel.active, Channel.kind == ChannelKind.BUNDLE.value)
    )
    vendors = session.scalar(select(func.count(func.distinct(Product.vendor_id))))
    products = session.scalar(select(func.count()).where(Product.active))
    assert f'"figure">{products}</span> products from {vendors} vendors' in page
    assert f"among {bundles} channels" in page and bundles and products
    assert "Where the money goes, and who decides" in page and "Independent Markets" in page


def test_a_member_not_in_good_standing_is_told_why_and_how_to_fix_it(
    session: Session, login: Callable[[Member], FlaskClient]
) -> None:
    open_round(session)
    pending = make_member(session, status="pending")
    cancelled = make_member(session, status="cancelled")
    session.commit()
    page = login(pending).get("/").get_data(as_text=True)
    assert "One step left: pay your first dues." in page and 'href="/dues"' in page
    page = login(cancelled).get("/catalogue").get_data(as_text=True)
    assert "Your membership is cancelled" in page and "Rejoin" in page
    home = login(cancelled).get("/").get_data(as_text=True)
    assert "budget vote" not in home  # a cancelled member is not invited to vote


def test_the_front_doors_member_count_is_at_most_a_minute_old(
    session: Session, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def members() -> int:
        page = client.get("/").get_data(as_text=True)
        found = re.search(r'"figure">(\d+)</span> members in good standing', page)
        assert found is not None
        return int(found.group(1))

    make_member(session)
    session.commit()
    counted = members()
    make_member(session)
    make_member(session, status="lapsed")
    session.commit()
    assert members() == counted  # not counted again on every view: it reads every member
    monkeypatch.setattr(web, "MEMBER_COUNT_SECONDS", 0.0)  # a minute later
    assert members() == counted + 1
