"""Opening deals, vendor links, offers and counters, accept/reject, ratification."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.deals.links import hash_token
from market.deals.models import Deal, DealEvent, DealOffer, VendorLink
from market.proposals.models import Position, Proposal
from tests.catalog.factories import make_channel, make_product, make_vendor
from tests.market.deals.factories import make_deal, make_want_request
from tests.market.factories import login_as, make_member

Login = Callable[..., FlaskClient]
STORY_FORM = {
    "tiers-0-from_seats": "1",
    "tiers-0-price": "1.20",
    "tiers-1-from_seats": "50",
    "tiers-1-price": "0.90",
    "tiers-2-from_seats": "150",
    "tiers-2-price": "0.70",
    "min_seats": "50",
    "term_months": "12",
    "notes": "Volume pricing.",
}


def _offers(session: Session) -> int:
    return session.scalar(select(func.count(DealOffer.id))) or 0


def test_admin_opens_a_group_buy_and_sends_a_link(session: Session, login: Login) -> None:
    admin = make_member(session, admin=True)
    channel = make_channel(session, name="Safe & Private")
    product = make_product(session, kind="seat", channel=channel)
    client = login(admin)
    deadline = (utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "title": "Budget Buddy",
        "product_id": product.id,
        "channel_id": channel.id,
        "want_request_id": 0,
        "seats_wanted": 60,
        "term_months": 12,
        "group_buy": "y",
        "min_members": 50,
        "deadline": deadline,
    }
    response = client.post("/admin/deals/new", data=form)
    assert response.status_code == 302
    deal = session.scalars(select(Deal)).one()
    assert deal.status == "draft" and deal.group_buy and deal.min_members == 50
    response = client.post(f"/admin/deals/{deal.id}/link", data={"days": 14})
    assert response.status_code == 302
    page = client.get(f"/admin/deals/{deal.id}").get_data(as_text=True)
    token = re.search(r"/vendor/deals/([A-Za-z0-9_-]{40,})", page)
    assert token is not None, "the link is shown once, right after creating it"
    session.expire_all()
    link = session.scalars(select(VendorLink)).one()
    assert link.token_hash == hash_token(token.group(1)) and token.group(1) not in link.token_hash
    assert session.get(Deal, deal.id).status == "requested"  # type: ignore[union-attr]
    assert "/vendor/deals/" not in client.get(f"/admin/deals/{deal.id}").get_data(as_text=True)


def test_leader_deal_needs_a_justification(session: Session, login: Login) -> None:
    leader = make_vendor(session, share_bp=4800)
    product = make_product(session, kind="seat", vendor=leader)
    client = login(make_member(session, admin=True))
    form = {
        "title": "Big editor",
        "product_id": product.id,
        "channel_id": product.channel_id,
        "want_request_id": 0,
        "seats_wanted": 10,
        "term_months": 12,
    }
    response = client.post("/admin/deals/new", data=form)
    assert response.status_code == 400 and "justification" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(Deal.id))) == 0
    form["justification"] = "No challenger offers an offline editor yet."
    assert client.post("/admin/deals/new", data=form).status_code == 302


def test_vendor_sees_demand_and_offers_tiers(app: Flask, session: Session) -> None:
    channel = make_channel(session, name="Safe & Private")
    want = make_want_request(session, channel, wants=40)
    deal, token = make_deal(session, channel=channel, stage="requested", want_request_id=want.id)
    vendor = app.test_client()
    page = vendor.get(f"/vendor/deals/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "40 members" in text and "$180.00 a month" in text and "Safe &amp; Private" in text
    response = vendor.post(f"/vendor/deals/{token}/offer", data=STORY_FORM)
    assert response.status_code == 302
    session.expire_all()
    offer = session.scalars(select(DealOffer)).one()
    assert offer.tiers == [[1, 120], [50, 90], [150, 70]] and offer.min_seats == 50
    assert offer.party == "vendor" and offer.ip == "127.0.0.1"
    assert session.get(Deal, deal.id).status == "offered"  # type: ignore[union-attr]
    event = session.scalars(select(DealEvent).order_by(DealEvent.id.desc())).first()
    assert event is not None and event.actor == "vendor" and event.ip == "127.0.0.1"
    assert session.scalars(select(VendorLink)).one().last_used_at is not None


def test_malformed_offers_are_form_errors_and_write_nothing(app: Flask, session: Session) -> None:
    _, token = make_deal(session, stage="requested")
    vendor = app.test_client()
    cases = {
        "cannot rise": {"tiers-1-price": "1.50"},
        "strictly increase": {"tiers-1-from_seats": "1"},
        "negative": {"tiers-1-price": "-0.90"},
        "at most 2 decimal places": {"tiers-1-price": "0.905"},
        "above the largest tier": {"min_seats": "200"},
        "Not a valid integer": {"min_seats": "fifty"},
        "give both": {"tiers-3-from_seats": "300"},
    }
    for message, change in cases.items():
        response = vendor.post(f"/vendor/deals/{token}/offer", data={**STORY_FORM, **change})
        assert response.status_code == 400, message
        assert message in response.get_data(as_text=True), message
    assert _offers(session) == 0


def test_forged_expired_and_revoked_links_show_nothing(app: Flask, session: Session) -> None:
    deal, token = make_deal(session, stage="requested", title="Secret Budget Deal")
    vendor = app.test_client()
    for bad in ["forged-token", token[:-1] + ("A" if token[-1] != "A" else "B")]:  # type: ignore[index]
        response = vendor.get(f"/vendor/deals/{bad}")
        assert response.status_code == 404 and "Secret Budget" not in response.get_data(
            as_text=True
        )
        assert vendor.post(f"/vendor/deals/{bad}/offer", data=STORY_FORM).status_code == 404
    link = session.scalars(select(VendorLink)).one()
    link.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert vendor.get(f"/vendor/deals/{token}").status_code == 404
    link.expires_at = utcnow() + timedelta(days=1)
    session.flush()
    assert vendor.get(f"/vendor/deals/{token}").status_code == 200
    admin = make_member(session, admin=True)
    client = login_as(app.test_client(), admin)
    assert client.post(f"/admin/deals/{deal.id}/links/{link.id}/revoke").status_code == 302
    response = vendor.get(f"/vendor/deals/{token}")
    assert response.status_code == 404 and "Secret Budget" not in response.get_data(as_text=True)
    assert vendor.post(f"/vendor/deals/{token}/offer", data=STORY_FORM).status_code == 404
    assert _offers(session) == 0


def test_counter_back_and_forth_then_vendor_accepts(
    app: Flask, session: Session, login: Login
) -> None:
    admin = make_member(session, admin=True)
    deal, token = make_deal(session, admin=admin, stage="offered")
    client = login(admin)
    counter = {**STORY_FORM, "tiers-1-price": "0.80", "notes": "Could you do 80c?"}
    assert client.post(f"/admin/deals/{deal.id}/counter", data=counter).status_code == 302
    # The co-op cannot accept its own counter: the move is refused, naming the state.
    refused = client.post(f"/admin/deals/{deal.id}/accept")
    assert refused.status_code == 409 and "(countered)" in refused.get_data(as_text=True)
    vendor = app.test_client()
    page = vendor.get(f"/vendor/deals/{token}").get_data(as_text=True)
    assert "Could you do 80c?" in page and "Accept the counter-offer" in page
    revised = {**STORY_FORM, "tiers-1-price": "0.85"}
    assert vendor.post(f"/vendor/deals/{token}/offer", data=revised).status_code == 302
    assert client.post(f"/admin/deals/{deal.id}/counter", data=counter).status_code == 302
    assert vendor.post(f"/vendor/deals/{token}/accept").status_code == 302
    session.expire_all()
    deal = session.get(Deal, deal.id)  # type: ignore[assignment]
    offers = session.scalars(select(DealOffer).order_by(DealOffer.id)).all()
    assert [o.party for o in offers] == ["vendor", "admin", "vendor", "admin"]
    assert deal.status == "accepted" and deal.accepted_offer_id == offers[-1].id
    moves = session.scalars(select(DealEvent.to_status).order_by(DealEvent.id)).all()
    assert moves == [
        "draft",
        "requested",
        "offered",
        "countered",
        "offered",
        "countered",
        "accepted",
    ]
    history = client.get(f"/admin/deals/{deal.id}").get_data(as_text=True)
    assert history.count("Co-op counter-offer") == 2 and history.count("Vendor offer") == 2


def test_admin_rejects_and_nothing_more_can_happen(
    app: Flask, session: Session, login: Login
) -> None:
    admin = make_member(session, admin=True)
    deal, token = make_deal(session, admin=admin, stage="offered")
    client = login(admin)
    assert (
        client.post(f"/admin/deals/{deal.id}/reject", data={"note": "Too dear"}).status_code == 302
    )
    refused = app.test_client().post(f"/vendor/deals/{token}/offer", data=STORY_FORM)
    assert refused.status_code == 409 and "(rejected)" in refused.get_data(as_text=True)
    assert _offers(session) == 1


def test_deal_above_the_limit_needs_ratification(
    make_app: Callable[..., Flask], session: Session
) -> None:
    app = make_app(RATIFY_ABOVE_CENTS=1000)
    admin = make_member(session, admin=True)
    deal, _ = make_deal(session, admin=admin, stage="offered")
    client = login_as(app.test_client(), admin)
    refused = client.post(f"/admin/deals/{deal.id}/accept")
    assert refused.status_code == 409
    assert "must ratify it first" in refused.get_data(as_text=True)
    closes = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert (
        client.post(f"/admin/deals/{deal.id}/ratify", data={"closes_at": closes}).status_code == 302
    )
    proposal = session.scalars(select(Proposal)).one()
    assert (proposal.subject_kind, proposal.subject_id) == ("deal", deal.id)
    assert "$54.00 a month" in proposal.body  # 60 seats wanted x $0.90
    for stance in ["agree", "agree", "disagree"]:
        session.add(
            Position(proposal_id=proposal.id, member_id=make_member(session).id, stance=stance)
        )
    proposal.closes_at = utcnow() - timedelta(minutes=1)  # the vote is over
    session.flush()
    assert client.post(f"/admin/deals/{deal.id}/accept").status_code == 302
    session.expire_all()
    assert session.get(Deal, deal.id).status == "accepted"  # type: ignore[union-attr]
