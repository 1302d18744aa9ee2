"""Build and sign Stripe-shaped events for webhook tests, and dues rows through services."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from market.billing import services
from market.billing.models import DuesAccount
from market.clock import month_start, period_of, shift_period, utcnow
from market.members.models import Member
from tests.support import WEBHOOK_SECRET

WEBHOOK_URL = "/billing/stripe/webhook"
# The month the events are about: the current one (at import, once the suite has travelled).
THIS_MONTH = period_of(utcnow())
MONTH_START = int(month_start(THIS_MONTH).timestamp())


def months_ago(n: int) -> int:
    """The start of the month `n` months before this one, in epoch seconds."""
    return int(month_start(shift_period(THIS_MONTH, -n)).timestamp())


_seq = itertools.count(1)


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<payload>">."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def event(type_: str, obj: dict[str, Any], created: int, event_id: str | None = None) -> dict:
    """A Stripe event envelope around an object."""
    return {
        "id": event_id or f"evt_test_{next(_seq)}_{created}",
        "object": "event",
        "type": type_,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "api_version": "2017-08-15",
    }


def subscription(
    sub_id: str,
    customer: str,
    status: str = "active",
    *,
    cancel_at_period_end: bool = False,
    period_end: int = MONTH_START + 30 * 86400,
) -> dict[str, Any]:
    """A subscription object as Stripe sends it."""
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": cancel_at_period_end,
        "current_period_start": period_end - 30 * 86400,
        "current_period_end": period_end,
    }


def invoice(
    inv_id: str,
    customer: str,
    sub_id: str | None = "sub_test",
    *,
    amount: int = 500,
    period_start: int = MONTH_START,
    paid: bool = True,
    billing_reason: str = "subscription_cycle",
) -> dict[str, Any]:
    """An invoice object as Stripe sends it."""
    return {
        "id": inv_id,
        "object": "invoice",
        "customer": customer,
        "subscription": sub_id,
        "currency": "usd",
        "amount_due": amount,
        "amount_paid": amount if paid else 0,
        "status": "paid" if paid else "open",
        "billing_reason": billing_reason,
        "created": period_start,
        "period_start": period_start,
        "lines": {"data": [{"period": {"start": period_start, "end": period_start + 30 * 86400}}]},
        "status_transitions": {"paid_at": period_start + 60 if paid else None},
    }


def deliver(client: FlaskClient, evt: dict[str, Any], **sign_args: Any) -> TestResponse:
    """POST an event to the webhook as Stripe would (signed raw JSON body)."""
    payload = json.dumps(evt).encode()
    return client.post(
        WEBHOOK_URL,
        data=payload,
        headers={"Stripe-Signature": sign(payload, **sign_args)},
        content_type="application/json",
    )


def make_dues_account(session: Session, member: Member, customer: str | None = None) -> DuesAccount:
    """A member who is a Stripe customer (as after the card form's first step)."""
    account = services.link_customer(session, member, customer or f"cus_test_{next(_seq)}")
    session.commit()
    return account
