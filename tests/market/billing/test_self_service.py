"""Billing members fix themselves: new card, pay now when past due, receipts, no Stripe 500s."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.fakestripe import DEV_API_KEY
from market.billing import news, services
from market.billing.models import DuesAccount, DuesInvoice
from market.clock import period_of, utcnow
from market.ledger.models import LedgerTransaction
from market.members.models import Member
from market.notifications.models import Notification
from tests import support
from tests.market.billing.stripe_fakes import make_dues_account
from tests.market.billing.test_dues_flow import (
    DECLINED_AT_CHARGE,
    GOOD_CARD,
    _card_page,
    _confirm_card,
    _member,
)
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


@pytest.fixture
def stripe_app(make_app: Callable[..., Flask], localstripe: str) -> Flask:
    return make_app(STRIPE_API_BASE=localstripe)


def _running_member(session: Session, customer: str = "cus_gone") -> Member:
    """A demo-like member: active, with a subscription id Stripe has never heard of."""
    member = make_member(session, status="active")
    account = make_dues_account(session, member, customer)
    account.subscription_id, account.sub_status, account.ever_paid = "sub_gone", "active", True
    session.commit()
    return member


def _admin_notes(session: Session) -> list[str]:
    session.expire_all()
    return list(
        session.scalars(select(Notification.subject).where(Notification.kind == "billing_problem"))
    )


def _cancel_and_check(session: Session, client: FlaskClient, member: Member, said: str) -> None:
    response = client.post("/dues/cancel")
    assert response.status_code == 302  # never a 500
    assert said in client.get("/dues").get_data(as_text=True)
    account = session.scalars(select(DuesAccount).where(DuesAccount.member_id == member.id)).one()
    session.refresh(account)
    assert not account.cancel_at_period_end and _member(session, member.id).status == "active"
    assert _admin_notes(session) == [f"Dues problem: {member.display_name} could not cancel"]


def test_cancel_a_subscription_stripe_does_not_know(
    stripe_app: Flask, session: Session, login: Login
) -> None:
    make_member(session, admin=True)
    member = _running_member(session)
    _cancel_and_check(
        session, login(member, stripe_app.test_client()), member, "admins have been told"
    )


def test_cancel_when_stripe_is_unreachable(
    make_app: Callable[..., Flask], session: Session, login: Login
) -> None:
    app = make_app(STRIPE_API_BASE=f"http://127.0.0.1:{support.free_port()}")
    make_member(session, admin=True)
    member = _running_member(session)
    _cancel_and_check(session, login(member, app.test_client()), member, "try again")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a Stripe that times out)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_cancel_when_stripe_times_out(
    make_app: Callable[..., Flask], session: Session, login: Login, silent_port: int
) -> None:
    app = make_app(STRIPE_API_BASE=f"http://127.0.0.1:{silent_port}", STRIPE_TIMEOUT_SECONDS=1)
    make_member(session, admin=True)
    member = _running_member(session)
    _cancel_and_check(session, login(member, app.test_client()), member, "try again")


def test_cancel_asks_first(session: Session, login: Login) -> None:
    member = _running_member(session, "cus_confirm")
    page = login(member).get("/dues/cancel")
    assert page.status_code == 200 and "Yes, cancel" in page.get_data(as_text=True)
    assert "Cancel at the end of this period…" in login(member).get("/dues").get_data(as_text=True)


def _new_card(client: FlaskClient, localstripe: str, number: str) -> None:
    page = client.get("/dues/card")
    assert page.status_code == 200, page.get_data(as_text=True)
    confirmed = _confirm_card(localstripe, page.get_data(as_text=True), number)
    assert confirmed.status_code == 200
    done = client.post("/dues/card", data={"setup_intent": confirmed.json()["id"]})
    assert done.status_code == 302


def _failed_renewal(session: Session, localstripe: str, member: Member) -> None:
    """Stripe bills the next month and the charge fails: the member is past due."""
    account = session.scalars(select(DuesAccount).where(DuesAccount.member_id == member.id)).one()
    invoice = requests.post(
        f"{localstripe}/v1/invoices",
        data={"customer": account.customer_id, "subscription": account.subscription_id},
        headers={"Authorization": f"Bearer {DEV_API_KEY}"},
    ).json()
    invoice["billing_reason"] = "subscription_cycle"
    news.fulfil(
        session,
        account,
        seen_at=max(int(invoice["created"]), account.status_at, account.snapshot_at) + 1,
        cfg=services.DuesSettings(),
        invoice=invoice,
        invoice_event="failed",
    )
    session.commit()


def test_past_due_member_updates_the_card_and_pays_now(
    stripe_app: Flask, localstripe: str, session: Session, login: Login
) -> None:
    member = make_member(session, status="pending")
    client = login(member, stripe_app.test_client())
    confirmed = _confirm_card(localstripe, _card_page(client), GOOD_CARD)
    client.post("/dues/subscribe", data={"setup_intent": confirmed.json()["id"]})
    assert "ending in <strong>4242</strong>" in client.get("/dues").get_data(as_text=True)
    _new_card(client, localstripe, DECLINED_AT_CHARGE)
    _failed_renewal(session, localstripe, member)
    assert _member(session, member.id).status == "past_due"
    dues = client.get("/dues").get_data(as_text=True)
    assert "Pay $5.00 now" in dues and "ending in <strong>0341</strong>" in dues
    client.post("/dues/pay-now")
    assert "did not go through" in client.get("/dues").get_data(as_text=True)
    assert _member(session, member.id).status == "past_due"
    _new_card(client, localstripe, GOOD_CARD)
    client.post("/dues/pay-now")
    assert "good standing again" in client.get("/dues").get_data(as_text=True)
    assert _member(session, member.id).status == "active"
    assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 2


def test_receipt_of_each_invoice_is_the_members_own(session: Session, login: Login) -> None:
    member, other = make_member(session), make_member(session)
    session.add(
        DuesInvoice(
            id="in_own",
            member_id=member.id,
            amount_cents=500,
            currency="usd",
            month=period_of(utcnow()),
            status="paid",
        )
    )
    session.commit()
    page = login(member).get("/dues/invoices/in_own")
    assert page.status_code == 200 and "Receipt" in page.get_data(as_text=True)
    download = login(member).get("/dues/invoices/in_own?download=1")
    assert "attachment" in download.headers["Content-Disposition"]
    assert login(other).get("/dues/invoices/in_own").status_code == 404
