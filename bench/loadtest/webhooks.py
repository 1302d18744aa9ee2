"""Stripe webhook traffic: a steady feed with duplicates and shuffled order, and the burst.

Events are signed here with the server's webhook secret, the way Stripe signs them
(`Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<payload>")>`), at the
moment each delivery is sent, so that slow bursts never go stale.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from flask import Flask
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from yarl import URL

from bench.http import Recorder, client, send
from bench.loadtest.driver import half_request
from bench.loadtest.faults import FaultLog, Window
from bench.loadtest.seed import Plan
from market.clock import month_start, period_of, utcnow

PATH = "/billing/stripe/webhook"
SECRET = "whsec_loadtest_not_secret"
# The invoices pay this month's dues: their period starts on the first of the current month.
MONTH_START = int(month_start(period_of(utcnow())).timestamp())


def sign(payload: bytes, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for the payload."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(SECRET.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


@dataclass
class Events:
    """Makes Stripe-shaped events for the seeded customers; ids never repeat within a run."""

    customers: list[str]
    rng: random.Random
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _envelope(self, type_: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
        n = next(self.seq)
        return {"id": f"evt_load_{n}", "object": "event", "type": type_,
                "created": created, "data": {"object": obj}, "livemode": False}  # fmt: skip

    def invoice_paid(self) -> dict[str, Any]:
        """A month's dues paid by a random customer (a new invoice each time)."""
        customer = self.rng.choice(self.customers)
        invoice_id = f"in_load_{next(self.seq)}"
        obj = {
            "id": invoice_id, "object": "invoice", "customer": customer,
            "subscription": "sub_" + customer, "currency": "usd", "amount_due": 500,
            "amount_paid": 500, "status": "paid", "billing_reason": "subscription_cycle",
            "created": MONTH_START, "period_start": MONTH_START,
            "status_transitions": {"paid_at": MONTH_START + 60},
        }  # fmt: skip
        return self._envelope("invoice.paid", obj, MONTH_START + self.rng.randrange(3600))

    def subscription_updated(self) -> dict[str, Any]:
        """An 'active' subscription snapshot with a random Stripe time (so order varies)."""
        customer = self.rng.choice(self.customers)
        obj = {
            "id": "sub_" + customer, "object": "subscription", "customer": customer,
            "status": "active", "cancel_at_period_end": False,
            "current_period_start": MONTH_START, "current_period_end": MONTH_START + 30 * 86400,
        }  # fmt: skip
        created = MONTH_START + self.rng.randrange(86400)
        return self._envelope("customer.subscription.updated", obj, created)


async def deliver(http: aiohttp.ClientSession, rec: Recorder, kind: str, event: dict) -> bool:
    """POST one signed delivery; remember what the app acknowledged."""
    payload = json.dumps(event).encode()
    headers = {"Stripe-Signature": sign(payload), "Content-Type": "application/json"}
    sample, _ = await send(
        http,
        rec,
        kind,
        "POST",
        PATH,
        data=payload,
        headers=headers,
        expect=(200, 202),  # 202: parked for a customer not linked yet
        describe=lambda status, _page: f"HTTP {status} webhook",
    )
    if sample.ok:
        rec.ack("stripe event", event["id"])
        if event["type"] == "invoice.paid":
            rec.ack("paid invoice", event["data"]["object"]["id"])
    return sample.ok


async def feed(base_url: str, rec: Recorder, events: Events, stop: float, rate: float) -> None:
    """Steady deliveries: 1-3 copies of each event, copies spread over 2 s (out of order),
    now and then a copy cut off mid-body first (Stripe then retries, as here)."""
    rng = events.rng
    async with client(base_url) as http:
        pending: set[asyncio.Task[bool]] = set()
        while rec.now() < stop:
            event = events.invoice_paid() if rng.random() < 0.6 else events.subscription_updated()
            if rng.random() < 0.05:
                payload = json.dumps(event).encode()
                headers = {"Stripe-Signature": sign(payload), "Content-Type": "application/json"}
                await half_request(URL(base_url).join(URL(PATH)), "POST", headers, payload)
                rec.disconnects["webhook cut off mid-body"] += 1
            for _ in range(rng.choice((1, 1, 2, 3))):
                task = asyncio.ensure_future(_later(rng.uniform(0, 2), http, rec, event))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.sleep(rng.expovariate(rate))
        await asyncio.gather(*pending)


async def _later(delay: float, http: aiohttp.ClientSession, rec: Recorder, event: dict) -> bool:
    await asyncio.sleep(delay)
    return await deliver(http, rec, "webhook", event)


@dataclass
class Burst:
    """The burst's size and when it starts."""

    events: int
    copies: int
    at: float
    concurrency: int = 16


async def burst(
    base_url: str, rec: Recorder, log: FaultLog, events: Events, plan: Burst, extras: dict
) -> None:
    """`events` invoice events, each delivered `copies` times, all shuffled, at once."""
    await asyncio.sleep(plan.at)
    batch = [events.invoice_paid() for _ in range(plan.events)]
    deliveries = [e for e in batch for _ in range(plan.copies)]
    events.rng.shuffle(deliveries)
    gate = asyncio.Semaphore(plan.concurrency)
    acked: set[str] = set()

    async def one(event: dict) -> None:
        async with gate:
            if await deliver(http, rec, "webhook burst", event):
                acked.add(event["id"])

    start = rec.now()
    async with client(base_url, limit=plan.concurrency) as http:
        await asyncio.gather(*(one(e) for e in deliveries))
    took = rec.now() - start
    log.windows.append(Window("burst", start, start + took, f"{len(deliveries)} deliveries"))
    extras["webhook burst"] = (
        f"{plan.events} events x {plan.copies} = {len(deliveries)} deliveries in {took:.1f} s "
        f"({len(deliveries) / took:.0f}/s); {plan.events - len(acked)} events never acknowledged"
    )


def installed(app: Flask) -> bool:
    """True once dues (Stripe customers and the webhook endpoint) are part of the app."""
    return "billing.stripe_webhook" in app.view_functions


def seed(session: Session, plan: Plan) -> None:
    """Every member is a Stripe customer with an active subscription."""
    from market.billing.models import DuesAccount

    rows = [
        {"member_id": mid, "customer_id": f"cus_load_{mid}",
         "subscription_id": f"sub_cus_load_{mid}", "sub_status": "active",
         "status_at": MONTH_START, "ever_paid": True}
        for mid in plan.member_ids
    ]  # fmt: skip
    session.execute(insert(DuesAccount), rows)
    plan.customers = [f"cus_load_{mid}" for mid in plan.member_ids]


def acknowledged(session: Session, rec: Recorder) -> dict[str, list[str]]:
    """Every event the app answered 2xx is stored; every such paid invoice is booked once."""
    from market.billing.models import StripeEvent
    from market.ledger.models import LedgerTransaction

    events = rec.acked.get("stripe event", set())
    stored = set(session.scalars(select(StripeEvent.id).where(StripeEvent.id.in_(events))))
    invoices = rec.acked.get("paid invoice", set())
    keys = {f"invoice:{i}" for i in invoices}
    booked = session.execute(
        select(LedgerTransaction.key, func.count())
        .where(LedgerTransaction.key.in_(keys))
        .group_by(LedgerTransaction.key)
    ).all()
    counts = {key: n for key, n in booked}
    return {
        f"every acknowledged Stripe event is stored ({len(events)})": [
            f"event {e} was answered 2xx but is not stored" for e in sorted(events - stored)
        ],
        f"every acknowledged paid invoice is booked exactly once ({len(invoices)})": [
            f"{k} booked {counts.get(k, 0)} times" for k in sorted(keys) if counts.get(k) != 1
        ],
    }
