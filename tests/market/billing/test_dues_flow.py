"""A member sets up dues against localstripe: card, subscription, cancel, faults."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.billing.models import DuesAccount, DuesInvoice, StripeCall
from market.clock import utcnow
from market.ledger.models import LedgerTransaction
from market.ledger.services import RESERVE, balance
from market.members.models import Member
from tests import support
from tests.market.factories import make_member

GOOD_CARD = "4242424242424242"
DECLINED_AT_SETUP = "4000000000000002"
DECLINED_AT_CHARGE = "4000000000000341"


@pytest.fixture
def stripe_app(make_app: Callable[..., Flask], localstripe: str) -> Flask:
    return make_app(STRIPE_API_BASE=localstripe)


def _confirm_card(base: str, page: str, number: str) -> requests.Response:
    """What Stripe.js does in the browser: confirm the SetupIntent with the card."""
    secret = re.search(r'data-client-secret="([^"]+)"', page)
    key = re.search(r'data-stripe-key="([^"]+)"', page)
    assert secret and key
    intent = secret.group(1).split("_secret_")[0]
    card = {"number": number, "exp_month": "12", "exp_year": str(utcnow().year + 4), "cvc": "123"}
    body = {
        "key": key.group(1),
        "client_secret": secret.group(1),
        "payment_method_data": {"type": "card", "card": card},
    }
    return requests.post(f"{base}/v1/setup_intents/{intent}/confirm", data=json.dumps(body))


def _card_page(client: FlaskClient) -> str:
    response = client.post("/dues/start")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dues/pay")
    page = client.get("/dues/pay")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _member(session: Session, member_id: int) -> Member:
    session.expire_all()
    member = session.get(Member, member_id)
    assert member is not None
    return member


def test_pay_by_card_then_cancel_and_undo(
    stripe_app: Flask,
    localstripe: str,
    session: Session,
    login: Callable[..., FlaskClient],
) -> None:
    member = make_member(session, status="pending")
    client = login(member, stripe_app.test_client())
    page = _card_page(client)
    assert localstripe + "/js.stripe.com/v3/" in page
    csp = client.get("/dues/pay").headers["Content-Security-Policy"]
    assert localstripe in csp and "unsafe-inline" not in csp
    confirmed = _confirm_card(localstripe, page, GOOD_CARD)
    assert confirmed.status_code == 200
    done = client.post("/dues/subscribe", data={"setup_intent": confirmed.json()["id"]})
    assert done.status_code == 302
    assert _member(session, member.id).status == "active"
    assert balance(session, RESERVE) == 50
    dues = client.get("/dues").get_data(as_text=True)
    assert "Next charge" in dues and "$5.00" in dues
    # The same form posted twice (a double click) changes nothing more.
    client.post("/dues/subscribe", data={"setup_intent": confirmed.json()["id"]})
    assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1

    assert client.post("/dues/cancel").status_code == 302
    account = session.scalars(select(DuesAccount)).one()
    session.refresh(account)
    assert account.cancel_at_period_end
    assert "Keep my membership" in client.get("/dues").get_data(as_text=True)
    assert _member(session, member.id).status == "active"  # until the period ends
    client.post("/dues/resume")
    session.refresh(account)
    assert not account.cancel_at_period_end
    keys = session.scalars(select(StripeCall.idempotency_key)).all()
    assert len(keys) == len(set(keys)) >= 4 and all(
        c.status == "done" for c in session.scalars(select(StripeCall))
    )


def test_card_declined_at_setup_keeps_member_pending(
    stripe_app: Flask, localstripe: str, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session, status="pending")
    client = login(member, stripe_app.test_client())
    page = _card_page(client)
    declined = _confirm_card(localstripe, page, DECLINED_AT_SETUP)
    assert declined.status_code == 402
    assert declined.json()["error"]["message"] == "Your card was declined."
    intent = re.search(r'data-client-secret="(seti_\w+?)_secret_', page)
    assert intent is not None
    response = client.post("/dues/subscribe", data={"setup_intent": intent.group(1)})
    assert response.status_code == 302
    assert "not confirmed" in client.get("/dues").get_data(as_text=True)
    assert _member(session, member.id).status == "pending"
    assert session.scalar(select(func.count()).select_from(DuesInvoice)) == 0


def test_card_declined_at_first_charge_keeps_member_pending(
    stripe_app: Flask, localstripe: str, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session, status="pending")
    client = login(member, stripe_app.test_client())
    confirmed = _confirm_card(localstripe, _card_page(client), DECLINED_AT_CHARGE)
    assert confirmed.status_code == 200
    client.post("/dues/subscribe", data={"setup_intent": confirmed.json()["id"]})
    assert "declined the first payment" in client.get("/dues").get_data(as_text=True)
    assert _member(session, member.id).status == "pending"
    assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 0


def test_stripe_unreachable_says_try_again_and_creates_nothing(
    make_app: Callable[..., Flask], session: Session, login: Callable[..., FlaskClient]
) -> None:
    app = make_app(STRIPE_API_BASE=f"http://127.0.0.1:{support.free_port()}")
    member = make_member(session, status="pending")
    client = login(member, app.test_client())
    for _ in range(2):
        response = client.post("/dues/start")
        assert response.status_code == 302
        assert "try again" in client.get("/dues").get_data(as_text=True)
    assert _member(session, member.id).status == "pending"
    assert session.scalar(select(func.count()).select_from(DuesAccount)) == 0
    # Only the stored idempotency key remains, and the retry reused it.
    calls = session.scalars(select(StripeCall)).all()
    assert [(c.operation, c.status) for c in calls] == [("customer.create", "pending")]
