"""The in-memory Stripe double: renewals as the clock passes period ends, declines, grace,
lapse, cancel at period end, and deliveries duplicated or out of order — every event signed
and posted through the real webhook endpoint."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.billing import services
from market.billing.gateway import CardDeclined, gateway
from market.billing.memory import MemoryStripe, add_months
from market.billing.models import DuesAccount, DuesInvoice
from market.clock import period_of, utcnow
from market.ledger.models import LedgerTransaction
from market.members.models import Member
from tests.market.factories import make_member

GOOD, DECLINES_CHARGES, REFUSED = "4242 4242 4242 4242", "4000000000000341", "4000000000000002"


@pytest.fixture
def mem_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(STRIPE_BACKEND="memory")


def double(app: Flask) -> MemoryStripe:
    gw = gateway(app)
    assert isinstance(gw, MemoryStripe)
    return gw


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """The whole process at `moment` (the clock stands still there)."""
    with time_machine.travel(moment, tick=False):
        yield


def join(app: Flask, client: FlaskClient, card: str = GOOD) -> str:
    """A member sets up dues as on the pages: start, the card form, subscribe."""
    assert client.post("/dues/start").status_code == 302
    page = client.get("/dues/pay").get_data(as_text=True)
    secret = re.search(r'data-client-secret="([^"]+)"', page)
    assert secret
    intent = secret.group(1).split("_secret_")[0]
    double(app).confirm_setup_intent(intent, card)
    assert client.post("/dues/subscribe", data={"setup_intent": intent}).status_code == 302
    return intent


def state(session: Session, member_id: int) -> tuple[Member, DuesAccount]:
    session.expire_all()
    member = session.get(Member, member_id)
    account = session.scalar(select(DuesAccount).where(DuesAccount.member_id == member_id))
    assert member is not None and account is not None
    return member, account


def booked(session: Session, member_id: int) -> list[str]:
    """Months of the member's paid invoices, each also booked once in the ledger."""
    paid = session.scalars(
        select(DuesInvoice)
        .where(DuesInvoice.member_id == member_id, DuesInvoice.status == "paid")
        .order_by(DuesInvoice.month)
    ).all()
    for invoice in paid:
        count = session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.key == f"invoice:{invoice.id}")
        )
        assert count == 1, invoice.id
    return [invoice.month for invoice in paid]


def step(app: Flask, moment: datetime, **deliver: object) -> list[int]:
    """Move to `moment`, let the double do what fell due, deliver its events."""
    with at(moment):
        double(app).advance()
        return [d.status for d in double(app).deliver(**deliver)]  # type: ignore[arg-type]


def test_renews_each_period_end_with_signed_events(
    mem_app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session, status="pending")
    client = login(member, mem_app.test_client())
    start = utcnow().replace(microsecond=0)
    with at(start):
        join(mem_app, client)
        assert double(mem_app).deliver()  # created, paid, updated: all answered 2xx
    assert state(session, member.id)[0].status == "active"
    assert booked(session, member.id) == [period_of(start)]
    assert step(mem_app, start + timedelta(days=5)) == []  # nothing due before the period end
    for n in (1, 2):
        answers = step(mem_app, add_months(start, n) + timedelta(hours=1))
        assert answers and all(code == 200 for code in answers)
    member, account = state(session, member.id)
    assert member.status == "active"
    assert booked(session, member.id) == sorted(
        {period_of(start), period_of(add_months(start, 1)), period_of(add_months(start, 2))}
    )
    assert account.current_period_end == add_months(start, 3)
    kinds = [e["type"] for e in double(mem_app).events]
    assert kinds.count("invoice.paid") == 3


def test_declined_renewal_grace_then_lapse_and_stripe_cancels(
    mem_app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session, status="pending")
    client = login(member, mem_app.test_client())
    start = utcnow().replace(microsecond=0)
    with at(start):
        join(mem_app, client)
        double(mem_app).deliver()
    customer = state(session, member.id)[1].customer_id
    assert customer is not None
    card = double(mem_app).default_card(customer)
    assert card is not None
    double(mem_app).break_card(card)
    renewal = add_months(start, 1)
    step(mem_app, renewal + timedelta(minutes=5))
    member_now, account = state(session, member.id)
    assert member_now.status == "past_due" and account.sub_status == "past_due"
    assert member_now.grace_until is not None
    step(mem_app, renewal + timedelta(days=3, minutes=5))  # the first retry is declined too
    assert state(session, member.id)[0].status == "past_due"
    with at(renewal + timedelta(days=14, minutes=10)):
        double(mem_app).advance()
        double(mem_app).deliver()  # the last retry fails: Stripe cancels the subscription
    member_now, account = state(session, member.id)
    assert account.sub_status == "canceled" and member_now.status == "lapsed"
    assert booked(session, member.id) == [period_of(start)]
    failed = [e for e in double(mem_app).events if e["type"] == "invoice.payment_failed"]
    assert [e["data"]["object"]["attempt_count"] for e in failed] == [1, 2, 3, 4]


def test_past_due_member_whose_card_works_again_is_active(
    mem_app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session, status="pending")
    client = login(member, mem_app.test_client())
    start = utcnow().replace(microsecond=0)
    with at(start):
        join(mem_app, client)
        double(mem_app).deliver()
    customer = state(session, member.id)[1].customer_id
    assert customer is not None
    card = double(mem_app).default_card(customer)
    assert card is not None
    double(mem_app).break_card(card)
    renewal = add_months(start, 1)
    step(mem_app, renewal + timedelta(minutes=1))
    assert state(session, member.id)[0].status == "past_due"
    double(mem_app).mend_card(card)
    step(mem_app, renewal + timedelta(days=3, minutes=1))  # the retry goes through
    member_now, account = state(session, member.id)
    assert member_now.status == "active" and account.sub_status == "active"
    assert booked(session, member.id) == sorted({period_of(start), period_of(renewal)})


def test_pay_now_after_a_new_card(
    mem_app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session, status="pending")
    client = login(member, mem_app.test_client())
    start = utcnow().replace(microsecond=0)
    with at(start):
        join(mem_app, client)
        double(mem_app).deliver()
    customer = state(session, member.id)[1].customer_id
    assert customer is not None
    card = double(mem_app).default_card(customer)
    assert card is not None
    double(mem_app).break_card(card)
    renewal = add_months(start, 1)
    step(mem_app, renewal + timedelta(minutes=1))
    with at(renewal + timedelta(hours=2)):
        client = login(member, mem_app.test_client())  # a month on: a fresh login
        refused = client.post("/dues/pay-now", follow_redirects=True)
        assert refused.status_code == 200 and "declined" in refused.get_data(as_text=True)
        assert state(session, member.id)[0].status == "past_due"
    with at(renewal + timedelta(hours=3)):
        page = client.get("/dues/card").get_data(as_text=True)
        secret = re.search(r'data-client-secret="([^"]+)"', page)
        assert secret
        intent = secret.group(1).split("_secret_")[0]
        double(mem_app).confirm_setup_intent(intent, "5555555555554444")
        assert client.post("/dues/card", data={"setup_intent": intent}).status_code == 302
        assert client.post("/dues/pay-now").status_code == 302
        double(mem_app).deliver()
    member_now, account = state(session, member.id)
    assert member_now.status == "active" and account.card_last4 == "4444"
    assert booked(session, member.id) == sorted({period_of(start), period_of(renewal)})


def test_first_payment_declined_leaves_member_pending_then_expires(
    mem_app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session, status="pending")
    client = login(member, mem_app.test_client())
    start = utcnow().replace(microsecond=0)
    with at(start):
        with pytest.raises(CardDeclined):
            join(mem_app, client, REFUSED)  # refused when the card is saved
        page = client.get("/dues/pay")
        assert page.status_code == 200  # the same card form, for another card
        secret = re.search(r'data-client-secret="([^"]+)"', page.get_data(as_text=True))
        assert secret
        intent = secret.group(1).split("_secret_")[0]
        double(mem_app).confirm_setup_intent(intent, DECLINES_CHARGES)  # saved, then declined
        done = client.post("/dues/subscribe", data={"setup_intent": intent}, follow_redirects=True)
        assert "declined" in done.get_data(as_text=True)
        double(mem_app).deliver()
    assert state(session, member.id)[0].status == "pending"
    step(mem_app, start + timedelta(days=1))
    member_now, account = state(session, member.id)
    assert member_now.status == "pending" and account.sub_status == "incomplete_expired"
    assert booked(session, member.id) == []


def test_cancel_at_period_end_ends_the_membership_then(
    mem_app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session, status="pending")
    client = login(member, mem_app.test_client())
    start = utcnow().replace(microsecond=0)
    with at(start):
        join(mem_app, client)
        assert client.post("/dues/cancel").status_code == 302
        double(mem_app).deliver()
    member_now, account = state(session, member.id)
    assert member_now.status == "active" and account.cancel_at_period_end
    step(mem_app, add_months(start, 1) - timedelta(hours=1))
    assert state(session, member.id)[0].status == "active"  # paid until the period end
    step(mem_app, add_months(start, 1) + timedelta(hours=1))
    member_now, account = state(session, member.id)
    assert member_now.status == "cancelled" and account.sub_status == "canceled"
    assert booked(session, member.id) == [period_of(start)]


def test_duplicated_and_shuffled_deliveries_end_in_the_same_state(
    mem_app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    seed = random.randrange(1 << 30)
    print(f"delivery order seed {seed}")
    rng = random.Random(seed)
    member = make_member(session, status="pending")
    client = login(member, mem_app.test_client())
    start = utcnow().replace(microsecond=0)
    with at(start):
        join(mem_app, client)
    customer = state(session, member.id)[1].customer_id
    assert customer is not None
    card = double(mem_app).default_card(customer)
    assert card is not None
    # Three renewals, the second declined then paid on retry; nothing delivered until the end.
    with at(add_months(start, 1) + timedelta(minutes=1)):
        double(mem_app).advance()
    double(mem_app).break_card(card)
    with at(add_months(start, 2) + timedelta(minutes=1)):
        double(mem_app).advance()
    double(mem_app).mend_card(card)
    end = add_months(start, 2) + timedelta(days=3, minutes=2)
    answers = step(mem_app, end, rng=rng, duplicate=0.5)
    assert answers and all(code == 200 for code in answers)
    member_now, account = state(session, member.id)
    assert member_now.status == "active" and account.sub_status == "active"
    months = sorted({period_of(add_months(start, n)) for n in range(3)})
    assert booked(session, member.id) == months
    # Every event once more, in reverse: nothing changes.
    with at(end + timedelta(minutes=1)):
        double(mem_app).outbox = list(reversed(double(mem_app).events))
        assert {d.status for d in double(mem_app).deliver()} == {200}
    assert state(session, member.id)[0].status == "active"
    assert booked(session, member.id) == months


def test_a_delivery_the_endpoint_refuses_is_kept_and_sent_again(
    mem_app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session, status="pending")
    client = login(member, mem_app.test_client())
    join(mem_app, client)
    double(mem_app).signing_secret = "whsec_someone_else"
    queued = len(double(mem_app).outbox)
    assert {d.status for d in double(mem_app).deliver()} == {400}  # the endpoint checks it
    assert len(double(mem_app).outbox) == queued
    double(mem_app).signing_secret = None  # signed with the app's secret again
    assert {d.status for d in double(mem_app).deliver()} == {200}
    assert double(mem_app).outbox == []
    assert services.find_account(session, member) is not None


def test_idempotency_keys_give_the_first_answer(mem_app: Flask) -> None:
    gw = double(mem_app)
    first = gw.create_customer("a@example.com", "A", 1, "key-1")
    assert gw.create_customer("a@example.com", "A", 1, "key-1") == first
    assert gw.create_customer("a@example.com", "A", 1, "key-2") != first
    intent = gw.create_setup_intent(first, "key-3")
    assert gw.create_setup_intent(first, "key-3")["id"] == intent["id"]


def test_an_unknown_backend_is_refused(make_app: Callable[..., Flask]) -> None:
    from market.config import ConfigError

    with pytest.raises(ConfigError, match="STRIPE_BACKEND"):
        make_app(STRIPE_BACKEND="paypal")


def test_an_old_unpaid_subscription_expiring_does_not_lapse_the_new_one(
    mem_app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    """Found by the simulation: a declined first try expires a day later, after the member
    subscribed again with a good card; that expiry used to make them lapsed."""
    member = make_member(session, status="pending")
    client = login(member, mem_app.test_client())
    start = utcnow().replace(microsecond=0)
    with at(start):
        join(mem_app, client, DECLINES_CHARGES)
        double(mem_app).deliver()
    assert state(session, member.id)[0].status == "pending"
    with at(start + timedelta(hours=2)):
        client.post("/dues/start")
        join(mem_app, client)
        double(mem_app).deliver()
    assert state(session, member.id)[0].status == "active"
    step(mem_app, start + timedelta(days=1, hours=1))  # the first subscription expires
    expired = [
        e
        for e in double(mem_app).events
        if e["data"]["object"].get("status") == "incomplete_expired"
    ]
    assert len(expired) == 1
    member_now, account = state(session, member.id)
    assert member_now.status == "active" and account.sub_status == "active"
