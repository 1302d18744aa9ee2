"""An in-memory Stripe double: the `PaymentGateway` port, plus time that moves.

It keeps customers, payment methods, SetupIntents, plans, subscriptions and invoices in
memory, honours idempotency keys, and — unlike localstripe — renews: `advance()` looks at
the clock (`market.clock.utcnow`, which a test or a simulation may travel) and, for every
period end that passed, does what Stripe does: cancels a subscription set to end, or
creates the next invoice, charges the default card, retries a declined one on a schedule
and finally cancels the subscription. Each step queues the event Stripe would send
(`invoice.paid`, `invoice.payment_failed`, `customer.subscription.created/updated/deleted`);
`deliver()` posts them, signed with the app's STRIPE_WEBHOOK_SECRET, to the real webhook
endpoint (through the app's test client, or over HTTP to a URL), and keeps the ones not
answered 2xx for the next delivery, as Stripe retries.

The browser's part (Stripe.js confirming a SetupIntent with a card number) is
`confirm_setup_intent`. Test cards, as in Stripe's test mode: 4242 4242 4242 4242 and
5555 5555 5555 4444 pay; 4000 0000 0000 0002 (declined), …9995 (insufficient funds) and
…0069 (expired) are refused when the card is saved; 4000 0000 0000 0341 is saved but every
charge on it is declined. `break_card` makes a saved card start declining (a card that
expired or was cancelled by its bank), `mend_card` the reverse.

One process only: the state lives in this object (simulations, tests, a one-process demo).
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

from market.billing.port import ENDED, CardDeclined, PaymentUnavailable, StripeRejected
from market.clock import utcnow

WEBHOOK_PATH = "/billing/stripe/webhook"
# Stripe leaves an unpaid first invoice open this long, then the subscription expires.
INCOMPLETE_SECONDS = 23 * 3600
# After a renewal is declined, the card is tried again this many days after the failure;
# when the last try fails too, the subscription is cancelled ("smart retries" then cancel).
RETRY_DAYS = (3, 7, 14)

PAYS = {"4242424242424242": "visa", "5555555555554444": "mastercard"}
REFUSED_AT_SETUP = {
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
    "4000000000000069": "Your card has expired.",
}
DECLINES_CHARGES = {"4000000000000341": "visa"}


def add_months(anchor: datetime, months: int) -> datetime:
    """The anchor moved by whole months, the day clamped to the month's length (as Stripe)."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    day = min(anchor.day, monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


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


class MemoryStripe:
    """The payment gateway port kept in memory, with renewals driven by the clock."""

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
        return _epoch(utcnow())

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

    # ------------------------------------------------------------------ the port

    def ensure_plan(self, fee_cents: int, currency: str) -> str:
        """The monthly dues plan for this fee; ids are stable."""
        with self._lock:
            self._check()
            plan_id = f"softcoop-dues-{currency}-{fee_cents}"
            self.plans.setdefault(
                plan_id,
                {"id": plan_id, "amount": fee_cents, "currency": currency, "interval": "month"},
            )
            return plan_id

    def create_customer(self, email: str, name: str, member_id: int, key: str) -> str:
        """A customer; the same key gives the same customer."""

        def make() -> str:
            customer_id = self._id("cus")
            self.customers[customer_id] = {
                "id": customer_id,
                "email": email,
                "name": name,
                "metadata": {"member_id": str(member_id)},
                "invoice_settings": {"default_payment_method": None},
            }
            return customer_id

        with self._lock:
            self._check()
            return str(self._once(f"customer:{key}", make))

    def create_setup_intent(self, customer_id: str, key: str) -> dict[str, Any]:
        """A SetupIntent waiting for a card."""

        def make() -> dict[str, Any]:
            self._customer(customer_id)
            intent_id = self._id("seti")
            salt = hashlib.sha256(key.encode()).hexdigest()[:16]
            intent = {
                "id": intent_id,
                "object": "setup_intent",
                "customer": customer_id,
                "usage": "off_session",
                "status": "requires_payment_method",
                "payment_method": None,
                "client_secret": f"{intent_id}_secret_{salt}",
                "last_setup_error": None,
                "created": self._now(),
            }
            self.setup_intents[intent_id] = intent
            return copy.deepcopy(intent)

        with self._lock:
            self._check()
            return dict(self._once(f"setup_intent:{key}", make))

    def retrieve_setup_intent(self, intent_id: str) -> dict[str, Any]:
        """The SetupIntent now."""
        with self._lock:
            self._check()
            if intent_id not in self.setup_intents:
                raise StripeRejected()
            return copy.deepcopy(self.setup_intents[intent_id])

    def subscribe(
        self, customer_id: str, payment_method: str, plan_id: str, key: str
    ) -> dict[str, Any]:
        """Default card, subscription, first invoice charged at once (latest_invoice expanded)."""

        def make() -> dict[str, Any]:
            self._attach(customer_id, payment_method)
            self._customer(customer_id)["invoice_settings"]["default_payment_method"] = (
                payment_method
            )
            if plan_id not in self.plans:
                raise StripeRejected()
            now = self._now()
            sub_id = self._id("sub")
            start = _moment(now)
            sub = {
                "id": sub_id,
                "object": "subscription",
                "customer": customer_id,
                "status": "incomplete",
                "plan": {"id": plan_id},
                "billing_cycle_anchor": now,
                "periods": 0,
                "created": now,
                "current_period_start": now,
                "current_period_end": _epoch(add_months(start, 1)),
                "cancel_at_period_end": False,
                "cancellation_details": {"reason": None},
                "canceled_at": None,
                "ended_at": None,
                "default_payment_method": payment_method,
                "latest_invoice": None,
            }
            self.subscriptions[sub_id] = sub
            self._emit("customer.subscription.created", self._view(sub), now)
            invoice = self._invoice(sub, "subscription_create", now)
            self._charge(sub, invoice, now)
            answer = self._view(sub)
            answer["latest_invoice"] = copy.deepcopy(invoice)
            return answer

        with self._lock:
            self._check()
            return dict(self._once(f"subscribe:{key}", make))

    def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool, key: str
    ) -> dict[str, Any]:
        """Set or clear cancel_at_period_end; Stripe sends customer.subscription.updated."""
        with self._lock:
            self._check()
            sub = self.subscriptions.get(subscription_id)
            if sub is None or sub["status"] in ENDED:
                raise StripeRejected()
            if sub["cancel_at_period_end"] != cancel:
                sub["cancel_at_period_end"] = cancel
                sub["cancellation_details"] = {
                    "reason": "cancellation_requested" if cancel else None
                }
                self._emit("customer.subscription.updated", self._view(sub), self._now())
            return self._view(sub)

    def card_of(self, payment_method: str) -> tuple[str, str]:
        """Brand and last four digits."""
        with self._lock:
            self._check()
            pm = self.payment_methods.get(payment_method)
            if pm is None:
                raise StripeRejected()
            return str(pm["card"]["brand"]), str(pm["card"]["last4"])

    def set_default_card(self, customer_id: str, payment_method: str, key: str) -> None:
        """Charge this card from now on (the open invoices are retried on their schedule)."""
        with self._lock:
            self._check()
            self._attach(customer_id, payment_method)
            self._customer(customer_id)["invoice_settings"]["default_payment_method"] = (
                payment_method
            )
            for sub in self.subscriptions.values():
                if sub["customer"] == customer_id and sub["status"] not in ENDED:
                    sub["default_payment_method"] = payment_method

    def pay_invoice(self, invoice_id: str, key: str) -> dict[str, Any]:
        """Charge an open invoice now; a declined card raises CardDeclined (as Stripe does)."""

        def make() -> dict[str, Any]:
            invoice = self.invoices.get(invoice_id)
            if invoice is None or invoice["status"] == "void":
                raise StripeRejected()
            if invoice["status"] == "open":
                sub = self.subscriptions[invoice["subscription"]]
                if not self._charge(sub, invoice, self._now(), retry=False):
                    raise CardDeclined("Your card was declined.")
            return copy.deepcopy(invoice)

        with self._lock:
            self._check()
            return dict(self._once(f"pay:{key}", make))

    def live_subscriptions(self, customer_id: str) -> list[str]:
        """The customer's subscriptions that have not ended."""
        with self._lock:
            self._check()
            return [
                s["id"]
                for s in self.subscriptions.values()
                if s["customer"] == customer_id and s["status"] not in ENDED
            ]

    # ------------------------------------------------------------------ the browser's part

    def confirm_setup_intent(self, intent_id: str, number: str) -> dict[str, Any]:
        """What Stripe.js does on the card form: save the card on the intent's customer."""
        number = number.replace(" ", "")
        with self._lock:
            self._check()
            intent = self.setup_intents.get(intent_id)
            if intent is None:
                raise StripeRejected()
            if intent["status"] == "succeeded":
                return copy.deepcopy(intent)
            if number in REFUSED_AT_SETUP:
                intent["last_setup_error"] = {"message": REFUSED_AT_SETUP[number]}
                raise CardDeclined(REFUSED_AT_SETUP[number])
            brand = PAYS.get(number) or DECLINES_CHARGES.get(number)
            if brand is None:
                intent["last_setup_error"] = {"message": "Your card number is incorrect."}
                raise CardDeclined("Your card number is incorrect.")
            pm_id = self._id("pm")
            self.payment_methods[pm_id] = {
                "id": pm_id,
                "object": "payment_method",
                "type": "card",
                "customer": intent["customer"],
                "card": {"brand": brand, "last4": number[-4:]},
            }
            if number in DECLINES_CHARGES:
                self._declining.add(pm_id)
            intent.update(status="succeeded", payment_method=pm_id, last_setup_error=None)
            return copy.deepcopy(intent)

    def break_card(self, payment_method: str) -> None:
        """From now on the bank declines this card (it expired, or was cancelled)."""
        with self._lock:
            self._declining.add(payment_method)

    def mend_card(self, payment_method: str) -> None:
        """The bank accepts this card again."""
        with self._lock:
            self._declining.discard(payment_method)

    def default_card(self, customer_id: str) -> str | None:
        """The customer's default payment method."""
        with self._lock:
            pm = self._customer(customer_id)["invoice_settings"]["default_payment_method"]
            return str(pm) if pm else None

    # ------------------------------------------------------------------ time moves

    def advance(self, now: datetime | None = None) -> int:
        """Do everything due by `now` (default: the clock), in time order; events queued."""
        limit = _epoch(now or utcnow())
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
            anchor = _moment(sub["billing_cycle_anchor"])
            sub["current_period_start"] = sub["current_period_end"]
            sub["current_period_end"] = _epoch(add_months(anchor, sub["periods"] + 1))
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

    def _attach(self, customer_id: str, payment_method: str) -> None:
        self._customer(customer_id)
        pm = self.payment_methods.get(payment_method)
        if pm is None or pm["customer"] not in (None, customer_id):
            raise StripeRejected()
        pm["customer"] = customer_id

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
