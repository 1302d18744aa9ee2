"""Every table of the market package, imported in one place for Alembic and tests."""

from __future__ import annotations

from market.billing.models import DuesAccount, DuesInvoice, StripeCall, StripeEvent
from market.dealballots.models import DealBallot, DealBallotCandidate, DealBallotVote
from market.deals.models import (
    Commitment,
    Deal,
    DealEvent,
    DealOffer,
    VendorLink,
    Want,
    WantRequest,
)
from market.discussions.models import Comment
from market.filestore import StoredChunk, StoredFile
from market.jobs.models import JobRun
from market.ledger.models import Account, LedgerTransaction, Posting
from market.members.models import Member, MemberSession
from market.notifications.models import (
    EmailSuppression,
    Notification,
    NotificationPreference,
    NotificationSettings,
    OutboxMessage,
)
from market.proposals.models import Position, PositionChange, Proposal
from market.reserve.models import ReserveSpend, ReserveTarget

__all__ = [
    "Account",
    "Comment",
    "EmailSuppression",
    "NotificationPreference",
    "NotificationSettings",
    "DuesAccount",
    "DuesInvoice",
    "Commitment",
    "Deal",
    "DealBallot",
    "DealBallotCandidate",
    "DealBallotVote",
    "DealEvent",
    "DealOffer",
    "VendorLink",
    "Want",
    "WantRequest",
    "JobRun",
    "LedgerTransaction",
    "Member",
    "MemberSession",
    "Notification",
    "OutboxMessage",
    "Position",
    "PositionChange",
    "Posting",
    "Proposal",
    "ReserveSpend",
    "ReserveTarget",
    "StripeCall",
    "StoredChunk",
    "StoredFile",
    "StripeEvent",
]
