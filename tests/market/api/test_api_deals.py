"""The API's decisions, wants, group buys and the vendor's link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.deals import negotiation
from market.deals.models import Commitment, DealOffer
from market.deals.states import Actor
from market.deals.tiers import Tier
from market.proposals.models import Proposal
from tests.catalog.factories import make_channel
from tests.market.deals.factories import make_deal, make_want_request
from tests.market.factories import bearer, login_as, make_member, make_proposal, make_token


def _type(response: Any) -> str:
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    return str(response.json["type"]).rsplit(":", 1)[-1]


def test_positions_through_the_api(app: Flask, session: Session) -> None:
    member = make_member(session)
    proposal = make_proposal(session)
    secret = make_token(session, member, "member")
    client = app.test_client()
    listed = client.get("/api/v1/proposals", headers=bearer(secret)).json
    assert listed is not None and [p["id"] for p in listed] == [proposal.id]
    url = f"/api/v1/proposals/{proposal.id}/position"
    block = client.put(url, json={"stance": "block"}, headers=bearer(secret))
    assert block.status_code == 400 and "reason" in block.json["detail"]  # type: ignore[index]
    agreed = client.put(url, json={"stance": "agree"}, headers=bearer(secret))
    assert agreed.status_code == 200 and agreed.json is not None
    assert agreed.json["mine"]["stance"] == "agree"
    assert {"stance": "agree", "count": 1} in agreed.json["counts"]
    assert _type(client.get("/api/v1/proposals/999999", headers=bearer(secret))) == "not-found"


def test_an_unpaid_sign_up_sees_titles_and_counts_only(app: Flask, session: Session) -> None:
    pending = make_member(session, status="pending")
    proposal = make_proposal(session)
    secret = make_token(session, pending, "member")
    seen = app.test_client().get(f"/api/v1/proposals/{proposal.id}", headers=bearer(secret)).json
    assert seen is not None and seen["author"] is None and seen["body"] is None
    refused = app.test_client().put(
        f"/api/v1/proposals/{proposal.id}/position",
        json={"stance": "agree"},
        headers=bearer(secret),
    )
    assert refused.status_code == 403


def test_the_proposal_budget_is_shared_with_the_page(
    make_app: Callable[..., Flask], session: Session
) -> None:
    app = make_app(PROPOSAL_RATE_LIMIT="2 per hour")
    member = make_member(session)
    secrets = [make_token(session, member, "member") for _ in range(3)]
    page = login_as(app.test_client(), member)
    closes = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    body = {"title": "T", "body": "B", "closes_at": closes.isoformat()}
    api = app.test_client()
    assert api.post("/api/v1/proposals", json=body, headers=bearer(secrets[0])).status_code == 201
    form = {"title": "P", "body": "B", "closes_at": closes.strftime("%Y-%m-%dT%H:%M")}
    form["results"] = "open"
    assert page.post("/decisions/new", data=form).status_code == 302
    # The budget is the member's, whichever door and however many tokens.
    over = api.post("/api/v1/proposals", json=body, headers=bearer(secrets[1]))
    assert over.status_code == 429 and _type(over) == "rate-limited"
    count = session.scalar(select(func.count()).select_from(Proposal))
    assert count == 2


def test_wants_through_the_api(app: Flask, session: Session) -> None:
    member = make_member(session)
    channel = make_channel(session)
    request = make_want_request(session, channel)
    secret = make_token(session, member, "member")
    client = app.test_client()
    url = f"/api/v1/me/wants/{request.id}"
    wanted = client.put(url, headers=bearer(secret))
    assert wanted.status_code == 200 and wanted.json == {
        "id": request.id,
        "title": request.title,
        "maker": request.maker,
        "channel": channel.name,
        "wants": 2,
        "mine": True,
    }
    assert _type(client.put(url, headers=bearer(secret))) == "conflict"
    assert client.delete(url, headers=bearer(secret)).json["wants"] == 1  # type: ignore[index]
    asked = client.post(
        "/api/v1/me/wants",
        json={"title": "Quiet Mail", "channel_id": channel.id},
        headers=bearer(secret),
    )
    assert asked.status_code == 201 and asked.json is not None and asked.json["mine"] is True
    same = client.post(
        "/api/v1/me/wants",
        json={"title": "quiet mail", "channel_id": channel.id},
        headers=bearer(secret),
    )
    assert _type(same) == "conflict"


def test_group_buy_commitments_through_the_api(app: Flask, session: Session) -> None:
    deal, _ = make_deal(session, stage="accepted", min_members=3)
    member = make_member(session)
    secret = make_token(session, member, "member")
    client = app.test_client()
    listed = client.get("/api/v1/me/group-buys", headers=bearer(secret)).json
    assert listed is not None and [d["id"] for d in listed] == [deal.id]
    url = f"/api/v1/me/group-buys/{deal.id}/commitment"
    made = client.put(url, headers=bearer(secret))
    assert made.status_code == 200 and made.json is not None
    assert made.json["mine"] is True and made.json["committed"] == 1
    assert _type(client.put(url, headers=bearer(secret))) == "conflict"
    assert client.delete(url, headers=bearer(secret)).json["committed"] == 0  # type: ignore[index]
    assert session.scalar(select(func.count()).select_from(Commitment)) == 0
    lapsed = make_token(session, make_member(session, status="lapsed"), "member")
    assert _type(client.put(url, headers=bearer(lapsed))) == "not-allowed"


def test_the_vendor_answers_through_the_link_token(app: Flask, session: Session) -> None:
    admin = make_member(session, admin=True)
    deal, token = make_deal(session, admin=admin, stage="requested", group_buy=False)
    assert token is not None
    client = app.test_client()
    seen = client.get("/api/v1/vendor/deal", headers=bearer(token))
    assert seen.status_code == 200 and seen.json is not None and seen.json["can_offer"] is True
    assert seen.headers["Cache-Control"] == "no-store"
    offer = {"tiers": [{"from_seats": 10, "per_seat_cents": 9}], "min_seats": 10}
    made = client.post(
        "/api/v1/vendor/deal/offers", json={**offer, "term_months": 12}, headers=bearer(token)
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.json is not None
    assert [o["party"] for o in made.json["offers"]] == ["vendor"]
    # The co-op counters; the vendor accepts the counter.
    session.refresh(deal)
    terms = negotiation.Terms([Tier(10, 8)], 10, 12)  # under what admins agree alone
    negotiation.make_offer(session, deal, Actor.ADMIN, terms, member=admin)
    accepted = client.post("/api/v1/vendor/deal/answer", json={"answer": "accept"},
                           headers=bearer(token))  # fmt: skip
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    assert accepted.json is not None
    assert accepted.json["status"] == "accepted"
    assert session.scalar(select(func.count()).select_from(DealOffer)) == 2
    # Forged tokens, and members' tokens, are the page's bare 404.
    assert _type(client.get("/api/v1/vendor/deal", headers=bearer("forged"))) == "not-found"
    member_token = make_token(session, make_member(session), "member")
    assert client.get("/api/v1/vendor/deal", headers=bearer(member_token)).status_code == 404


def test_cookie_login_is_not_a_vendor(
    client: FlaskClient, session: Session, login: Callable[..., FlaskClient]
) -> None:
    login(make_member(session, admin=True))
    assert client.get("/api/v1/vendor/deal").status_code == 401
