"""The Stripe boundary: one payment gateway per app, plain dicts out, domain errors for members.

Everything the rest of the app sees is a plain dict (Stripe's JSON) or an id, through the
`PaymentGateway` port (`market.billing.port`). `STRIPE_BACKEND` picks the adapter:
`stripe` (the default: this module's StripeGateway, the stripe SDK, talking to real Stripe
or to localstripe; only STRIPE_API_BASE and the keys differ) or `memory` (the in-memory
Stripe double of `market.billing.memory`, which renews as the clock moves).

Where localstripe differs from Stripe (kept right for Stripe, noted here):
- it does not honour Idempotency-Key headers (we send them anyway);
- a SetupIntent confirmed with a customer does not attach its PaymentMethod to that
  customer, so we attach it when it is not attached yet (Stripe has already done it);
- updating a subscription sends no customer.subscription.updated webhook, so we apply the
  API response ourselves (which we do for real Stripe too: the member sees it at once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import stripe
from flask import Flask, current_app

from market.billing.port import (  # noqa: F401  (the errors are re-exported)
    ENDED,
    CardDeclined,
    PaymentGateway,
    PaymentUnavailable,
    StripeRejected,
)
from market.config import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class StripeGateway:
    """The few Stripe operations dues need, behind one client."""

    def __init__(self, api_key: str, api_base: str = "", timeout: int = 20) -> None:
        self.client = stripe.StripeClient(
            api_key or "sk_test_unset",
            base_addresses={"api": api_base} if api_base else None,
            # We retry ourselves, from the member's click, with the stored key.
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except stripe.CardError as exc:
            raise CardDeclined(exc.user_message or "Your card was declined.") from None
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            log.warning("Stripe unavailable: %s", exc)
            raise PaymentUnavailable() from None
        except stripe.AuthenticationError as exc:
            log.error("Stripe refused our API key: %s", exc)
            raise PaymentUnavailable() from None
        except stripe.InvalidRequestError as exc:
            log.error("Stripe refused a request: %s", exc)
            raise StripeRejected() from None
        except stripe.StripeError as exc:
            # Anything else Stripe raises is not the member's doing: never a 500.
            log.error("Stripe error: %s", exc)
            raise PaymentUnavailable() from None

    def ensure_plan(self, fee_cents: int, currency: str) -> str:
        """The monthly dues Plan for this fee, created on first use (ids are stable)."""
        plan_id = f"softcoop-dues-{currency}-{fee_cents}"
        v1 = self.client.v1
        try:
            self._call(lambda: v1.plans.retrieve(plan_id))
            return plan_id
        except StripeRejected:
            pass  # no such plan yet
        product = self._call(
            lambda: v1.products.create(
                params={"name": "Co-op dues"}, options={"idempotency_key": f"product:{plan_id}"}
            )
        )
        params: dict[str, Any] = {
            "id": plan_id,
            "amount": fee_cents,
            "currency": currency,
            "interval": "month",
            "product": product.id,
        }
        try:
            self._call(
                lambda: v1.plans.create(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": f"plan:{plan_id}"},
                )
            )
        except StripeRejected:
            self._call(lambda: v1.plans.retrieve(plan_id))  # another process made it first
        return plan_id

    def create_customer(self, email: str, name: str, member_id: int, key: str) -> str:
        """A Stripe customer for a member; returns its id."""
        customer = self._call(
            lambda: self.client.v1.customers.create(
                params={"email": email, "name": name, "metadata": {"member_id": str(member_id)}},
                options={"idempotency_key": key},
            )
        )
        return str(customer.id)

    def create_setup_intent(self, customer_id: str, key: str) -> dict[str, Any]:
        """A SetupIntent that saves a card for future monthly charges."""
        intent = self._call(
            lambda: self.client.v1.setup_intents.create(
                params={"customer": customer_id, "usage": "off_session"},
                options={"idempotency_key": key},
            )
        )
        return _plain(intent)

    def retrieve_setup_intent(self, intent_id: str) -> dict[str, Any]:
        """A SetupIntent as Stripe sees it now."""
        return _plain(self._call(lambda: self.client.v1.setup_intents.retrieve(intent_id)))

    def subscribe(
        self, customer_id: str, payment_method: str, plan_id: str, key: str
    ) -> dict[str, Any]:
        """Make the card the customer's default and start the monthly subscription."""
        v1 = self.client.v1
        pm = self._call(lambda: v1.payment_methods.retrieve(payment_method))
        if not pm.customer:  # localstripe: confirming the SetupIntent did not attach it
            self._call(
                lambda: v1.payment_methods.attach(
                    payment_method,
                    params={"customer": customer_id},
                    options={"idempotency_key": f"{key}:attach"},
                )
            )
        self._call(
            lambda: v1.customers.update(
                customer_id,
                params={"invoice_settings": {"default_payment_method": payment_method}},
                options={"idempotency_key": f"{key}:default"},
            )
        )
        subscription = self._call(
            lambda: v1.subscriptions.create(
                params={
                    "customer": customer_id,
                    "items": [{"plan": plan_id}],
                    "expand": ["latest_invoice"],
                },
                options={"idempotency_key": key},
            )
        )
        return _plain(subscription)

    def set_cancel_at_period_end(self, subscription_id: str, cancel: bool, key: str) -> dict:
        """Ask Stripe to end (or keep) the subscription at the end of the paid period."""
        subscription = self._call(
            lambda: self.client.v1.subscriptions.update(
                subscription_id,
                params={"cancel_at_period_end": cancel},
                options={"idempotency_key": key},
            )
        )
        return _plain(subscription)

    def card_of(self, payment_method: str) -> tuple[str, str]:
        """A card's brand and last four digits (all the co-op ever keeps of it)."""
        pm = self._call(lambda: self.client.v1.payment_methods.retrieve(payment_method))
        card = _plain(pm).get("card") or {}
        return str(card.get("brand") or "card"), str(card.get("last4") or "")

    def set_default_card(self, customer_id: str, payment_method: str, key: str) -> None:
        """Attach a card to the customer (if needed) and charge it from now on."""
        v1 = self.client.v1
        pm = self._call(lambda: v1.payment_methods.retrieve(payment_method))
        if not pm.customer:  # localstripe: confirming the SetupIntent did not attach it
            self._call(
                lambda: v1.payment_methods.attach(
                    payment_method,
                    params={"customer": customer_id},
                    options={"idempotency_key": f"{key}:attach"},
                )
            )
        self._call(
            lambda: v1.customers.update(
                customer_id,
                params={"invoice_settings": {"default_payment_method": payment_method}},
                options={"idempotency_key": key},
            )
        )

    def pay_invoice(self, invoice_id: str, key: str) -> dict[str, Any]:
        """Try an open invoice again now, with the customer's card on file."""
        invoice = self._call(
            lambda: self.client.v1.invoices.pay(invoice_id, options={"idempotency_key": key})
        )
        return _plain(invoice)

    def live_subscriptions(self, customer_id: str) -> list[str]:
        """Ids of the customer's subscriptions that still charge (or may: not ended)."""
        listing = self._call(
            lambda: self.client.v1.subscriptions.list(
                params={"customer": customer_id, "limit": 100}
            )
        )
        return [str(sub.id) for sub in listing.data if sub.status not in ENDED]


BACKENDS = ("stripe", "memory")


def init_app(app: Flask) -> None:
    """Give the app its own payment gateway (nothing here assumes one app per process)."""
    backend = app.config.get("STRIPE_BACKEND") or "stripe"
    gw: PaymentGateway
    if backend == "memory":
        from market.billing.memory import MemoryStripe

        gw = MemoryStripe(app)
    elif backend == "stripe":
        gw = StripeGateway(
            app.config["STRIPE_API_KEY"],
            app.config["STRIPE_API_BASE"],
            app.config["STRIPE_TIMEOUT_SECONDS"],
        )
    else:
        raise ConfigError(f"STRIPE_BACKEND must be one of {', '.join(BACKENDS)}, got {backend!r}")
    app.extensions["softcoop.stripe"] = gw


def gateway(app: Flask | None = None) -> PaymentGateway:
    """The payment gateway of the given (or current) app."""
    return (app or current_app).extensions["softcoop.stripe"]  # type: ignore[no-any-return]
