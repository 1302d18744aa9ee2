"""Every table of the market package, imported in one place for Alembic and tests."""

from __future__ import annotations

from market.ledger.models import Account, LedgerTransaction, Posting
from market.members.models import Member

__all__ = ["Account", "LedgerTransaction", "Member", "Posting"]
