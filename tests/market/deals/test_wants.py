"""Members ask for software and add their wants; everyone sees the most-wanted list."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.deals.models import Want, WantRequest
from tests.catalog.factories import make_channel
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _wants(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(Want.id))) or 0


def test_ask_want_withdraw_and_see_counts_per_channel(session: Session, login: Login) -> None:
    safe = make_channel(session, name="Safe & Private")
    make_channel(session, name="Make Things")
    nia, omar = make_member(session), make_member(session)
    client = login(nia)
    form = {"title": "Budget Buddy", "maker": "Penny Labs", "channel_id": safe.id}
    assert client.post("/deals/wanted", data=form).status_code == 302
    request_id = session.scalars(select(WantRequest.id)).one()
    page = client.get("/deals/wanted").get_data(as_text=True)
    assert "Budget Buddy" in page and "Withdraw my want" in page
    assert "Safe &amp; Private: 1 want" in page

    other = login(omar, client.application.test_client())
    assert other.post(f"/deals/wanted/{request_id}/want").status_code == 302
    assert _wants(session) == 2
    again = other.post(f"/deals/wanted/{request_id}/want")
    assert again.status_code == 409 and "already want" in again.get_data(as_text=True)
    assert _wants(session) == 2
    assert "Safe &amp; Private: 2 wants" in other.get("/deals/wanted").get_data(as_text=True)
    assert other.post(f"/deals/wanted/{request_id}/withdraw").status_code == 302
    assert _wants(session) == 1
    filtered = other.get(f"/deals/wanted?channel={safe.id + 1}").get_data(as_text=True)
    assert "Nothing asked for yet in this channel" in filtered


def test_duplicate_request_and_bad_input_write_nothing(session: Session, login: Login) -> None:
    safe = make_channel(session)
    client = login(make_member(session))
    assert (
        client.post("/deals/wanted", data={"title": "", "channel_id": safe.id}).status_code == 400
    )
    client.post("/deals/wanted", data={"title": "Budget Buddy", "channel_id": safe.id})
    dup = client.post("/deals/wanted", data={"title": "budget buddy", "channel_id": safe.id})
    assert dup.status_code == 409 and "already on the list" in dup.get_data(as_text=True)
    assert session.scalar(select(func.count(WantRequest.id))) == 1


def test_members_not_in_good_standing_cannot_want(session: Session, login: Login) -> None:
    safe = make_channel(session)
    client = login(make_member(session, status="lapsed"))
    response = client.post("/deals/wanted", data={"title": "X", "channel_id": safe.id})
    assert response.status_code == 403 and "good standing" in response.get_data(as_text=True)
    assert _wants(session) == 0
