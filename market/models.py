"""Every table of the market package, imported in one place for Alembic and tests."""

from __future__ import annotations

from market.ledger.models import Account, LedgerTransaction, Posting
from market.members.models import Member
from market.notifications.models import Notification, OutboxMessage
from market.proposals.models import Position, PositionChange, Proposal

__all__ = [
    "Account",
    "LedgerTransaction",
    "Member",
    "Notification",
    "OutboxMessage",
    "Position",
    "PositionChange",
    "Posting",
    "Proposal",
]
