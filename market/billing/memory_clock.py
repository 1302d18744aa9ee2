"""The Stripe double's state and its clock: renewals, retries, invoices, charges, and the
signed webhook deliveries of the events they queue (`market.billing.memory` adds the
gateway's calls on top).

`advance()` looks at the clock (`market.clock.utcnow`, which a test or a simulation may
travel) and, for every period end that passed, does what Stripe does: cancels a
subscription set to end, or creates the next invoice, charges the default card, retries a
declined one on a schedule and finally cancels the subscription. `deliver()` posts the
queued events, signed with the app's STRIPE_WEBHOOK_SECRET, to the real webhook endpoint.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import random
import threading
import time
import urllib.error
import urllib.request
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from market.billing.port import PaymentUnavailable, StripeRejected
from market.clock import utcnow

WEBHOOK_PATH = "/billing/stripe/webhook"
# Stripe leaves an unpaid first invoice open this long, then the subscription expires.
INCOMPLETE_SECONDS = 23 * 3600
# After a renewal is declined, the card is tried again this many days after the failure;
# when the last try fails too, the subscription is cancelled ("smart retries" then cancel).
RETRY_DAYS = (3, 7, 14)


def add_months(anchor: datetime, months: int) -> datetime:
    """The anchor moved by whole months, the day clamped to the month's length (as Stripe)."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    day = min(anchor.day, monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def epoch(at: datetime) -> int:
    """Seconds since the epoch, as Stripe's JSON gives times."""
    return int(at.timestamp())


def moment(seconds: int) -> datetime:
    """The UTC moment of a Stripe time."""
    return datetime.fromtimestamp(seconds, UTC)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A Stripe-Signature header for a payload (HMAC-SHA256 of "<t>.<payload>")."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


@dataclass
class Delivery:
    """One POST of an event to the webhook: its id, type and the HTTP answer."""

    event_id: str
    type: str
    status: int


class StripeClock:
    """What the double keeps, and what happens to it as time passes."""

    def __init__(self, app: Flask | None = None, retry_days: tuple[int, ...] = RETRY_DAYS):
        self.app = app
        self.retry_days = retry_days
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.setup_intents: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.outbox: list[dict[str, Any]] = []  # events not yet answered 2xx
        self.events: list[dict[str, Any]] = []  # every event, in the order made
        self.unavailable = False  # fault injection: every call fails as if Stripe were down
        # The endpoint secret deliveries are signed with (default: the app's own setting).
        self.signing_secret: str | None = None
        self._declining: set[str] = set()  # payment methods whose charges are declined
        self._keys: dict[str, Any] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ plumbing

    def _id(self, prefix: str) -> str:
        return f"{prefix}_mem{next(self._ids):06d}"

    def _now(self) -> int:
        return epoch(utcnow())

    def _check(self) -> None:
        if self.unavailable:
            raise PaymentUnavailable()

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        """Idempotency: the first answer given for a key is the answer for that key."""
        if key in self._keys:
            return copy.deepcopy(self._keys[key])
        result = make()
        self._keys[key] = copy.deepcopy(result)
        return result

    def _emit(self, type_: str, obj: dict[str, Any], at: int) -> None:
        event = {
            "id": self._id("evt"),
            "object": "event",
            "type": type_,
            "created": at,
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
        }
        self.events.append(event)
        self.outbox.append(event)

    def _customer(self, customer_id: str) -> dict[str, Any]:
        if customer_id not in self.customers:
            raise StripeRejected()
        return self.customers[customer_id]

    # ------------------------------------------------------------------ time moves

    def advance(self, now: datetime | None = None) -> int:
        """Do everything due by `now` (default: the clock), in time order; events queued."""
        limit = epoch(now or utcnow())
        done = 0
        with self._lock:
            while True:
                step = self._next_step(limit)
                if step is None:
                    return done
                at, action = step
                action(at)
                done += 1

    def _next_step(self, limit: int) -> tuple[int, Callable[[int], None]] | None:
        best: tuple[int, str, Callable[[int], None]] | None = None

        def offer(at: int, tie: str, action: Callable[[int], None]) -> None:
            nonlocal best
            if at <= limit and (best is None or (at, tie) < (best[0], best[1])):
                best = (at, tie, action)

        for sub in self.subscriptions.values():
            status = sub["status"]
            if status == "incomplete":
                offer(sub["created"] + INCOMPLETE_SECONDS, sub["id"], self._expirer(sub))
            elif status in ("active", "past_due", "trialing"):
                offer(sub["current_period_end"], sub["id"], self._renewer(sub))
        for invoice in self.invoices.values():
            retry_at = invoice.get("next_payment_attempt")
            if invoice["status"] == "open" and retry_at:
                offer(int(retry_at), invoice["id"], self._retrier(invoice))
        return None if best is None else (best[0], best[2])

    def _expirer(self, sub: dict[str, Any]) -> Callable[[int], None]:
        def run(at: int) -> None:
            sub["status"] = "incomplete_expired"
            sub["ended_at"] = at
            for invoice in self.invoices.values():
                if invoice["subscription"] == sub["id"] and invoice["status"] == "open":
                    invoice.update(status="void", next_payment_attempt=None)
            self._emit("customer.subscription.updated", self._view(sub), at)

        return run

    def _renewer(self, sub: dict[str, Any]) -> Callable[[int], None]:
        def run(at: int) -> None:
            if sub["cancel_at_period_end"]:
                sub.update(status="canceled", canceled_at=at, ended_at=at)
                self._void_open(sub)
                self._emit("customer.subscription.deleted", self._view(sub), at)
                return
            sub["periods"] += 1
            anchor = moment(sub["billing_cycle_anchor"])
            sub["current_period_start"] = sub["current_period_end"]
            sub["current_period_end"] = epoch(add_months(anchor, sub["periods"] + 1))
            invoice = self._invoice(sub, "subscription_cycle", at)
            self._charge(sub, invoice, at)

        return run

    def _retrier(self, invoice: dict[str, Any]) -> Callable[[int], None]:
        def run(at: int) -> None:
            self._charge(self.subscriptions[invoice["subscription"]], invoice, at)

        return run

    # ------------------------------------------------------------------ invoices and charges

    def _invoice(self, sub: dict[str, Any], reason: str, at: int) -> dict[str, Any]:
        plan = self.plans[sub["plan"]["id"]]
        start, end = sub["current_period_start"], sub["current_period_end"]
        invoice = {
            "id": self._id("in"),
            "object": "invoice",
            "customer": sub["customer"],
            "subscription": sub["id"],
            "currency": plan["currency"],
            "amount_due": plan["amount"],
            "amount_paid": 0,
            "status": "open",
            "billing_reason": reason,
            "created": at,
            "period_start": start,
            "period_end": end,
            "lines": {"data": [{"period": {"start": start, "end": end}}]},
            "status_transitions": {"paid_at": None},
            "attempt_count": 0,
            "next_payment_attempt": None,
            "first_failed_at": None,
        }
        self.invoices[invoice["id"]] = invoice
        sub["latest_invoice"] = invoice["id"]
        return invoice

    def _charge(
        self, sub: dict[str, Any], invoice: dict[str, Any], at: int, retry: bool = True
    ) -> bool:
        """Charge the subscription's card for the invoice; events as Stripe sends them."""
        pm = sub.get("default_payment_method")
        invoice["attempt_count"] += 1
        if pm and pm not in self._declining:
            invoice.update(
                status="paid",
                amount_paid=invoice["amount_due"],
                next_payment_attempt=None,
                status_transitions={"paid_at": at},
            )
            self._emit("invoice.paid", invoice, at)
            if sub["status"] != "active" and not self._still_open(sub):
                sub["status"] = "active"
                self._emit("customer.subscription.updated", self._view(sub), at)
            elif invoice["billing_reason"] == "subscription_cycle":
                self._emit("customer.subscription.updated", self._view(sub), at)
            return True
        first = invoice["first_failed_at"] or at
        invoice["first_failed_at"] = first
        tries = invoice["attempt_count"] - 1  # retries made so far (the first try is not one)
        if invoice["billing_reason"] == "subscription_create":
            invoice["next_payment_attempt"] = None  # the member is asked for another card
            self._emit("invoice.payment_failed", invoice, at)
            return False
        if not retry:  # a payment the member asked for: the schedule stays as it was
            return False
        final = tries >= len(self.retry_days)
        invoice["next_payment_attempt"] = None if final else first + self.retry_days[tries] * 86400
        self._emit("invoice.payment_failed", invoice, at)
        if final:
            sub.update(status="canceled", canceled_at=at, ended_at=at)
            sub["cancellation_details"] = {"reason": "payment_failed"}
            self._void_open(sub)
            self._emit("customer.subscription.deleted", self._view(sub), at)
        elif sub["status"] != "past_due":
            sub["status"] = "past_due"
            self._emit("customer.subscription.updated", self._view(sub), at)
        return False

    def _still_open(self, sub: dict[str, Any]) -> bool:
        return any(
            i["subscription"] == sub["id"] and i["status"] == "open" for i in self.invoices.values()
        )

    def _void_open(self, sub: dict[str, Any]) -> None:
        for invoice in self.invoices.values():
            if invoice["subscription"] == sub["id"] and invoice["status"] == "open":
                invoice.update(status="void", next_payment_attempt=None)

    def _view(self, sub: dict[str, Any]) -> dict[str, Any]:
        """The subscription as Stripe's JSON shows it."""
        view = {k: copy.deepcopy(v) for k, v in sub.items() if k not in ("periods", "plan")}
        view["items"] = {
            "data": [
                {
                    "plan": copy.deepcopy(sub["plan"]),
                    "current_period_start": sub["current_period_start"],
                    "current_period_end": sub["current_period_end"],
                }
            ]
        }
        return view

    # ------------------------------------------------------------------ webhooks

    def deliver(
        self,
        url: str | None = None,
        *,
        rng: random.Random | None = None,
        duplicate: float = 0.0,
    ) -> list[Delivery]:
        """POST every queued event, signed, to the webhook; keep those not answered 2xx.

        With `rng` the batch goes out shuffled, and with `duplicate` > 0 that share of the
        events is sent twice (Stripe guarantees neither order nor a single delivery).
        """
        with self._lock:
            batch, self.outbox = self.outbox, []
        sends = list(batch)
        if rng is not None:
            sends += [e for e in batch if rng.random() < duplicate]
            rng.shuffle(sends)
        answers: list[Delivery] = []
        failed: dict[str, dict[str, Any]] = {}
        acked: set[str] = set()
        for event in sends:
            status = self._post(event, url)
            answers.append(Delivery(event["id"], event["type"], status))
            if 200 <= status < 300:
                acked.add(event["id"])
            else:
                failed[event["id"]] = event
        with self._lock:
            kept = [e for e in batch if e["id"] in failed and e["id"] not in acked]
            self.outbox = kept + self.outbox
        return answers

    def _secret(self) -> str:
        if self.signing_secret:
            return self.signing_secret
        if self.app is None or not self.app.config.get("STRIPE_WEBHOOK_SECRET"):
            raise RuntimeError("the Stripe double needs an app with STRIPE_WEBHOOK_SECRET")
        return str(self.app.config["STRIPE_WEBHOOK_SECRET"])

    def _post(self, event: dict[str, Any], url: str | None) -> int:
        payload = json.dumps(event).encode()
        headers = {"Stripe-Signature": sign(payload, self._secret())}
        if url is None:
            assert self.app is not None
            response = self.app.test_client().post(
                WEBHOOK_PATH, data=payload, headers=headers, content_type="application/json"
            )
            return response.status_code
        request = urllib.request.Request(
            url,
            data=payload,
            method="POST",
            headers={**headers, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return 0
