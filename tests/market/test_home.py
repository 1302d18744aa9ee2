"""The member's home page: a card per part of the co-op, saying what needs them."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog import claims
from market.members.models import Member
from tests.allocation.factories import open_round, vote
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
