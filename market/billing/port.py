"""The payment gateway port: what dues need from a payment provider, as a Protocol.

Two adapters implement it: `market.billing.gateway.StripeGateway` (the stripe SDK: real
Stripe or localstripe) and `market.billing.memory.MemoryStripe` (an in-memory Stripe double
that renews subscriptions as the clock passes their period ends and delivers signed events
through the real webhook endpoint). `STRIPE_BACKEND` (stripe | memory) chooses one.

Every method returns plain dicts (Stripe's JSON) or ids, and raises only the domain errors
defined here (PaymentUnavailable, StripeRejected, CardDeclined), which the pages explain.
"""

from __future__ import annotations

from typing import Any, Protocol

from market.errors import DomainError

# A subscription in one of these states has ended (it never charges again).
ENDED = {"canceled", "incomplete_expired"}


class PaymentUnavailable(DomainError):
    """Stripe could not be reached (or failed): nothing was done; the member may retry."""

    status_code = 503

    def __init__(self) -> None:
        super().__init__(
            "We could not reach our payment provider, so nothing was charged. "
            "Please try again in a minute."
        )


class StripeRejected(DomainError):
    """Stripe refused the request (e.g. it does not know the subscription): nothing changed."""

    status_code = 409

    def __init__(self) -> None:
        super().__init__(
            "Our payment provider could not make this change (it does not recognise your "
            "payment details), so nothing was changed. The co-op's admins have been told "
            "and will get in touch."
        )


class CardDeclined(DomainError):
    """The card was refused; the member may try another."""

    status_code = 402


class PaymentGateway(Protocol):
    """The few payment operations the dues flows call."""

    def ensure_plan(self, fee_cents: int, currency: str) -> str:
        """The monthly dues plan for this fee (created on first use); its id."""
        ...

    def create_customer(self, email: str, name: str, member_id: int, key: str) -> str:
        """A customer for a member; its id."""
        ...

    def create_setup_intent(self, customer_id: str, key: str) -> dict[str, Any]:
        """A SetupIntent that saves a card for off-session monthly charges."""
        ...

    def retrieve_setup_intent(self, intent_id: str) -> dict[str, Any]:
        """A SetupIntent as the provider sees it now."""
        ...

    def subscribe(
        self, customer_id: str, payment_method: str, plan_id: str, key: str
    ) -> dict[str, Any]:
        """Make the card the default and start the subscription (latest_invoice expanded)."""
        ...

    def set_cancel_at_period_end(
        self, subscription_id: str, cancel: bool, key: str
    ) -> dict[str, Any]:
        """End (or keep) the subscription at the end of the paid period."""
        ...

    def card_of(self, payment_method: str) -> tuple[str, str]:
        """A card's brand and last four digits."""
        ...

    def set_default_card(self, customer_id: str, payment_method: str, key: str) -> None:
        """Attach a card to the customer (if needed) and charge it from now on."""
        ...

    def pay_invoice(self, invoice_id: str, key: str) -> dict[str, Any]:
        """Try an open invoice again now with the card on file."""
        ...

    def live_subscriptions(self, customer_id: str) -> list[str]:
        """Ids of the customer's subscriptions that have not ended."""
        ...
