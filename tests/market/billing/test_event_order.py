"""Any order (and any duplication) of a subscription's events ends in the same state."""

from __future__ import annotations

from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.billing import services, webhooks
from market.billing.models import DuesAccount, DuesInvoice
from market.billing.services import DuesSettings
from market.db import utcnow
from market.ledger.models import Account
from market.members.models import Member
from tests.market.billing.stripe_fakes import event, invoice, subscription
from tests.market.factories import make_member

CFG = DuesSettings()
DAY = 86400


def _history(customer: str, start: int) -> list[dict[str, Any]]:
    """A subscription's life, in Stripe's order: join, pay, fail, recover, cancel, end."""
    sub = "sub_h"
    month2 = start + 30 * DAY

    def at(i: int) -> int:
        return start + i * 3600

    return [
        event("customer.subscription.created", subscription(sub, customer, "incomplete"), at(0)),
        event("invoice.paid", invoice("in_h1", customer, sub, period_start=start), at(1)),
        event("customer.subscription.updated", subscription(sub, customer, "active"), at(1)),
        event(
            "invoice.payment_failed",
            invoice("in_h2", customer, sub, period_start=month2, paid=False),
            at(2),
        ),
        event("customer.subscription.updated", subscription(sub, customer, "past_due"), at(2)),
        event("invoice.paid", invoice("in_h2", customer, sub, period_start=month2), at(3)),
        event("customer.subscription.updated", subscription(sub, customer, "active"), at(3)),
        event(
            "customer.subscription.updated",
            subscription(sub, customer, "active", cancel_at_period_end=True),
            at(4),
        ),
        event(
            "customer.subscription.deleted",
            subscription(sub, customer, "canceled", cancel_at_period_end=True),
            at(5),
        ),
    ]


def _state(session: Session, member_id: int) -> tuple[Any, ...]:
    session.expire_all()
    member = session.get(Member, member_id)
    account = session.scalars(select(DuesAccount).where(DuesAccount.member_id == member_id)).one()
    assert member is not None
    invoices = session.execute(select(DuesInvoice.id, DuesInvoice.status).order_by("id")).all()
    balances = session.execute(select(Account.code, Account.balance_cents).order_by("code")).all()
    return (
        member.status,
        member.grace_until,
        account.sub_status,
        account.cancel_at_period_end,
        account.current_period_end,
        tuple(invoices),
        tuple(balances),
    )


def _run(session: Session, events: list[dict[str, Any]]) -> tuple[Any, ...]:
    """Apply events in a savepoint; return the final state and roll it all back."""
    outer = session.begin_nested()
    member = make_member(session, status="pending")
    services.link_customer(session, member, "cus_h")
    for evt in events:
        webhooks.ingest(session, evt, CFG)
    state = _state(session, member.id)
    outer.rollback()
    return state


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_order_same_final_state(app: Flask, data: st.DataObject) -> None:
    start = int(utcnow().timestamp()) - 40 * DAY
    history = _history("cus_h", start)
    upto = data.draw(st.integers(min_value=1, max_value=len(history)), label="events so far")
    events = history[:upto]
    shuffled = data.draw(st.permutations(events), label="order")
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=4), label="duplicates")
    session = Session(bind=_connection(app), join_transaction_mode="create_savepoint")
    try:
        expected = _run(session, events)
        assert _run(session, [*shuffled, *repeats]) == expected
    finally:
        session.close()


def _connection(app: Flask) -> Any:
    return app.config["DB_CONNECTION"]
