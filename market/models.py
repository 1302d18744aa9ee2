"""Every table of the market package, imported in one place for Alembic and tests."""

from __future__ import annotations

from market.billing.models import DuesAccount, DuesInvoice, StripeCall, StripeEvent
from market.ledger.models import Account, LedgerTransaction, Posting
from market.members.models import Member

__all__ = [
    "Account",
    "DuesAccount",
    "DuesInvoice",
    "LedgerTransaction",
    "Member",
    "Posting",
    "StripeCall",
    "StripeEvent",
]
