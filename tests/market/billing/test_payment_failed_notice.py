"""A failed renewal tells the member once, however often Stripe announces it."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.notifications.models import Notification, OutboxMessage
from tests.market.billing.stripe_fakes import deliver, event, invoice, make_dues_account
from tests.market.factories import make_member


def test_failed_renewal_is_told_once(app: Flask, session: Session) -> None:
    client = app.test_client()
    member = make_member(session, status="pending")
    make_dues_account(session, member, "cus_f")
    now = int(utcnow().timestamp())
    deliver(client, event("invoice.paid", invoice("in_1", "cus_f"), now - 40 * 86400))
    failed = invoice("in_2", "cus_f", paid=False, period_start=now - 86400)
    for offset in (0, 60, 3600):  # Stripe's retries: new events, the same invoice
        deliver(client, event("invoice.payment_failed", failed, now - 86400 + offset))
    notes = session.scalars(
        select(Notification).where(
            Notification.member_id == member.id, Notification.kind == "dues.payment_failed"
        )
    ).all()
    assert len(notes) == 1 and notes[0].link == "/dues"
    assert "grace period of 14 days" in notes[0].body
    mails = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "dues.payment_failed")
    ).all()
    assert [m.to_email for m in mails] == [member.email]


def test_a_failed_first_payment_is_not_announced(app: Flask, session: Session) -> None:
    client = app.test_client()
    member = make_member(session, status="pending")
    make_dues_account(session, member, "cus_g")
    failed = invoice("in_1", "cus_g", paid=False, billing_reason="subscription_create")
    deliver(client, event("invoice.payment_failed", failed, int(utcnow().timestamp())))
    kinds = session.scalars(select(Notification.kind).where(Notification.member_id == member.id))
    assert "dues.payment_failed" not in list(kinds)  # the member saw it on the payment page
