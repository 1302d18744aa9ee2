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
The state, the clock's steps and the deliveries are `market.billing.memory_clock`; this
module is the gateway's calls.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from market.billing.memory_clock import StripeClock, add_months, epoch, moment
from market.billing.port import ENDED, CardDeclined, StripeRejected

PAYS = {"4242424242424242": "visa", "5555555555554444": "mastercard"}
REFUSED_AT_SETUP = {
    "4000000000000002": "Your card was declined.",
    "4000000000009995": "Your card has insufficient funds.",
    "4000000000000069": "Your card has expired.",
}
DECLINES_CHARGES = {"4000000000000341": "visa"}


class MemoryStripe(StripeClock):
    """The payment gateway port kept in memory, with renewals driven by the clock."""

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
            start = moment(now)
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
                "current_period_end": epoch(add_months(start, 1)),
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

    def _attach(self, customer_id: str, payment_method: str) -> None:
        self._customer(customer_id)
        pm = self.payment_methods.get(payment_method)
        if pm is None or pm["customer"] not in (None, customer_id):
            raise StripeRejected()
        pm["customer"] = customer_id
