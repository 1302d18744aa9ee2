"""Stripe webhooks: verify, record each event once, apply it in the same transaction.

Unknown customers: the event is stored as *parked* (answered 202, not 200) rather than
refused. Refusing would make Stripe retry for three days and then drop it; parking keeps it
in our own table whatever happens, and it is applied as soon as the customer is linked
(`replay_parked`, called when a member's customer is recorded, and by
`flask --app market dues replay`). A later delivery of a parked event also retries it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from market.billing import news, statements
from market.billing.models import DuesAccount, StripeEvent
from market.billing.services import DuesSettings
from market.db import utcnow

SUBSCRIPTION_EVENTS = {
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
}
PAID_EVENTS = {"invoice.payment_succeeded", "invoice.paid"}
FAILED_EVENTS = {"invoice.payment_failed"}
HANDLED = SUBSCRIPTION_EVENTS | PAID_EVENTS | FAILED_EVENTS


class BadSignature(Exception):
    """The payload is not signed by our webhook secret (or is stale, or not JSON)."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery."""

    status: str  # processed | duplicate | parked
    http_status: int


def verify(payload: bytes, signature: str | None, secret: str, tolerance: int = 300) -> dict:
    """The event, if the raw body carries a valid, fresh signature; else BadSignature."""
    if not signature or not secret:
        raise BadSignature("missing signature")
    try:
        # Only the signature: Webhook.construct_event would also build a StripeObject
        # tree we never use, at a real CPU cost per delivery.
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise BadSignature(str(exc)) from None
    if not isinstance(event, dict) or not {"id", "type", "created", "data"} <= event.keys():
        raise BadSignature("not a Stripe event")
    return event


def _customer_of(event: dict[str, Any]) -> str | None:
    obj = (event.get("data") or {}).get("object") or {}
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return customer if isinstance(customer, str) else None


def ingest(session: Session, event: dict[str, Any], cfg: DuesSettings) -> Outcome:
    """Record a verified event (once, whatever the concurrency) and apply its effect.

    The row goes in first, as processed: a concurrent delivery of the same event waits on
    its unique key until this transaction ends, then sees it done. If applying fails the
    whole transaction (row included) rolls back and Stripe's retry starts afresh.
    """
    now = utcnow()
    customer = _customer_of(event)
    params = {
        "id": event["id"],
        "type": str(event["type"])[:64],
        "created": int(event["created"]),
        "customer_id": customer,
        "payload": json.dumps(event, sort_keys=True),
        "status": "processed",
        "note": "" if event["type"] in HANDLED else "not a dues event",
        "received_at": now,
        "processed_at": now,
    }
    conn = session.connection()
    if customer and event["type"] in HANDLED and conn.dialect.name == "postgresql":
        # The usual delivery: the event row and the account's lock in one round trip.
        fresh, account = statements.record_and_lock(session, params)
        if fresh:
            return _apply_to(session, event, cfg, True, account)
    else:
        fresh = (
            conn.execute(statements.event_insert(conn.dialect.name), params).scalar() is not None
        )
        if fresh:
            return _apply(session, event, cfg, fresh=True)
    row = session.get(StripeEvent, event["id"], with_for_update=True)
    if row is None or row.status == "processed":
        return Outcome("duplicate", 200)
    return _apply(session, event, cfg, fresh=False)


def _apply(session: Session, event: dict[str, Any], cfg: DuesSettings, fresh: bool) -> Outcome:
    """Apply an event; `fresh` when its row was just inserted (already marked processed)."""
    if event["type"] not in HANDLED:
        if not fresh:
            _mark(session, event["id"], "processed", "not a dues event")
        return Outcome("processed", 200)
    customer = _customer_of(event)
    account = statements.locked_snapshot(session, customer) if customer else None
    return _apply_to(session, event, cfg, fresh, account)


def _apply_to(
    session: Session,
    event: dict[str, Any],
    cfg: DuesSettings,
    fresh: bool,
    account: DuesAccount | None,
) -> Outcome:
    """Apply a dues event to its customer's account (locked; None if unknown: parked)."""
    if account is None:
        customer = _customer_of(event)
        _mark(session, event["id"], "parked", f"unknown customer {customer}")
        return Outcome("parked", 202)
    if not fresh:
        _mark(session, event["id"], "processed", "")
    obj = event["data"]["object"]
    seen_at = int(event["created"])
    if event["type"] in SUBSCRIPTION_EVENTS:
        news.apply_news(session, account, seen_at=seen_at, cfg=cfg, subscription=obj)
    elif event["type"] in PAID_EVENTS:
        news.apply_news(session, account, seen_at=seen_at, cfg=cfg, invoice=obj)
    else:
        news.apply_news(
            session, account, seen_at=seen_at, cfg=cfg, invoice=obj, invoice_event="failed"
        )
    return Outcome("processed", 200)


def _mark(session: Session, event_id: str, status: str, note: str) -> None:
    """Set an event's status, unless it already is that (new events start as processed)."""
    session.execute(
        update(StripeEvent)
        .where(
            StripeEvent.id == event_id,
            (StripeEvent.status != status) | (StripeEvent.note != note[:255]),
        )
        .values(
            status=status,
            note=note[:255],
            processed_at=utcnow() if status == "processed" else None,
        )
        .execution_options(synchronize_session=False)
    )


def replay_parked(session: Session, cfg: DuesSettings, customer_id: str | None = None) -> int:
    """Apply parked events (of one customer, or all) in Stripe's order; returns how many."""
    query = select(StripeEvent).where(StripeEvent.status == "parked")
    if customer_id is not None:
        query = query.where(StripeEvent.customer_id == customer_id)
    done = 0
    for row in session.scalars(query.order_by(StripeEvent.created, StripeEvent.id)).all():
        if _apply(session, json.loads(row.payload), cfg, fresh=False).status == "processed":
            done += 1
    return done
