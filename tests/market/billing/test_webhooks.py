"""The Stripe webhook: signatures, exactly-once effects, parking, the member's states."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.billing.models import DuesInvoice, StripeEvent
from market.db import utcnow
from market.ledger.models import LedgerTransaction
from market.ledger.services import CLEARING, RESERVE, balance, pool_code
from market.members.models import Member
from tests.market.billing.stripe_fakes import (
    MONTH_START,
    THIS_MONTH,
    WEBHOOK_URL,
    deliver,
    event,
    invoice,
    make_dues_account,
    sign,
    subscription,
)
from tests.market.factories import make_member


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _pending_customer(session: Session, customer: str = "cus_nia") -> Member:
    member = make_member(session, status="pending")
    make_dues_account(session, member, customer)
    return member


def test_paid_invoice_activates_and_books_once(client: FlaskClient, session: Session) -> None:
    member = _pending_customer(session)
    evt = event("invoice.payment_succeeded", invoice("in_1", "cus_nia"), MONTH_START + 60)
    first = deliver(client, evt)
    assert first.status_code == 200 and first.json == {"status": "processed"}
    for _ in range(3):
        again = deliver(client, evt)
        assert again.status_code == 200 and again.json == {"status": "duplicate"}
    session.expire_all()
    assert session.get(Member, member.id).status == "active"  # type: ignore[union-attr]
    assert balance(session, pool_code(THIS_MONTH)) == 450
    assert balance(session, RESERVE) == 50
    assert balance(session, CLEARING) == -500
    assert _count(session, LedgerTransaction) == 1
    assert _count(session, StripeEvent) == 1
    # The same invoice announced by a second event type is still booked once.
    deliver(client, event("invoice.paid", invoice("in_1", "cus_nia"), MONTH_START + 61))
    assert _count(session, LedgerTransaction) == 1


def test_bad_signatures_are_refused_and_nothing_is_written(
    client: FlaskClient, session: Session
) -> None:
    _pending_customer(session)
    evt = event("invoice.paid", invoice("in_1", "cus_nia"), MONTH_START)
    payload = json.dumps(evt).encode()
    stale = sign(payload, timestamp=int(utcnow().timestamp()) - 3600)
    cases = [
        {},
        {"Stripe-Signature": "t=1,v1=deadbeef"},
        {"Stripe-Signature": sign(payload, secret="whsec_someone_else")},
        {"Stripe-Signature": stale},
        {"Stripe-Signature": sign(b'{"id": "evt_other"}')},
    ]
    for headers in cases:
        response = client.post(
            WEBHOOK_URL, data=payload, headers=headers, content_type="application/json"
        )
        assert response.status_code == 400, headers
    not_json = b"not json"
    response = client.post(WEBHOOK_URL, data=not_json, headers={"Stripe-Signature": sign(not_json)})
    assert response.status_code == 400
    assert _count(session, StripeEvent) == 0
    assert _count(session, LedgerTransaction) == 0


def test_unknown_customer_is_parked_then_applied(client: FlaskClient, session: Session) -> None:
    evt = event("invoice.paid", invoice("in_9", "cus_later"), MONTH_START)
    response = deliver(client, evt)
    assert response.status_code == 202 and response.json == {"status": "parked"}
    row = session.get(StripeEvent, evt["id"])
    assert row is not None and row.status == "parked"
    assert _count(session, LedgerTransaction) == 0
    # Stripe retries: still parked, still not acknowledged as done.
    assert deliver(client, evt).status_code == 202
    member = make_member(session, status="pending")
    make_dues_account(session, member, "cus_later")
    # The next delivery applies it.
    assert deliver(client, evt).json == {"status": "processed"}
    session.expire_all()
    assert session.get(StripeEvent, evt["id"]).status == "processed"  # type: ignore[union-attr]
    assert session.get(Member, member.id).status == "active"  # type: ignore[union-attr]
    assert balance(session, pool_code(THIS_MONTH)) == 450


def test_parked_events_replay_when_the_customer_appears(app: Flask, session: Session) -> None:
    client = app.test_client()
    evt = event("invoice.paid", invoice("in_7", "cus_late"), MONTH_START)
    assert deliver(client, evt).status_code == 202
    member = make_member(session, status="pending")
    make_dues_account(session, member, "cus_late")
    result = app.test_cli_runner().invoke(args=["dues", "replay"])
    assert "Applied 1 parked event" in result.output
    session.expire_all()
    assert session.get(Member, member.id).status == "active"  # type: ignore[union-attr]


def test_failed_renewal_grace_then_lapse(app: Flask, session: Session) -> None:
    client = app.test_client()
    member = _pending_customer(session, "cus_a")
    now = int(utcnow().timestamp())
    deliver(client, event("invoice.paid", invoice("in_1", "cus_a"), now - 40 * 86400))
    failed = invoice("in_2", "cus_a", paid=False, period_start=now - 86400)
    deliver(client, event("invoice.payment_failed", failed, now - 86400))
    session.expire_all()
    member = session.get(Member, member.id)  # type: ignore[assignment]
    assert member.status == "past_due" and member.in_good_standing()
    assert member.grace_until is not None
    assert member.grace_until - utcnow() > timedelta(days=12)
    runner = app.test_cli_runner()
    assert "Lapsed 0" in runner.invoke(args=["dues", "lapse"]).output
    # Grace ends: the lapse job (idempotent) moves them on.
    member.grace_until = utcnow() - timedelta(seconds=1)
    session.commit()
    assert "Lapsed 1" in runner.invoke(args=["dues", "lapse"]).output
    assert "Lapsed 0" in runner.invoke(args=["dues", "lapse"]).output
    session.expire_all()
    assert session.get(Member, member.id).status == "lapsed"  # type: ignore[union-attr]
    # Paying later brings them back.
    deliver(client, event("invoice.paid", invoice("in_2", "cus_a", period_start=now), now + 5))
    session.expire_all()
    assert session.get(Member, member.id).status == "active"  # type: ignore[union-attr]
    assert session.get(DuesInvoice, "in_2").status == "paid"  # type: ignore[union-attr]


def test_first_payment_declined_stays_pending(client: FlaskClient, session: Session) -> None:
    member = _pending_customer(session, "cus_b")
    failed = invoice("in_1", "cus_b", paid=False, billing_reason="subscription_create")
    deliver(client, event("invoice.payment_failed", failed, MONTH_START))
    deliver(
        client,
        event(
            "customer.subscription.created",
            subscription("sub_b", "cus_b", "incomplete"),
            MONTH_START,
        ),
    )
    session.expire_all()
    assert session.get(Member, member.id).status == "pending"  # type: ignore[union-attr]
    assert _count(session, LedgerTransaction) == 0


def test_cancel_at_period_end_and_older_events_do_not_win(
    client: FlaskClient, session: Session
) -> None:
    member = _pending_customer(session, "cus_c")
    deliver(client, event("invoice.paid", invoice("in_1", "cus_c", "sub_c"), MONTH_START))
    ending = subscription("sub_c", "cus_c", "active", cancel_at_period_end=True)
    deliver(client, event("customer.subscription.updated", ending, MONTH_START + 100))
    gone = subscription("sub_c", "cus_c", "canceled", cancel_at_period_end=True)
    deliver(client, event("customer.subscription.deleted", gone, MONTH_START + 200))
    # A late, older "active" snapshot must not bring the subscription back.
    deliver(
        client,
        event("customer.subscription.updated", subscription("sub_c", "cus_c"), MONTH_START + 50),
    )
    session.expire_all()
    assert session.get(Member, member.id).status == "cancelled"  # type: ignore[union-attr]
