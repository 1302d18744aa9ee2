"""The kinds of notice a member may choose about, with their defaults.

A kind not listed here (account and security notices, an admin's billing problem) is
always delivered to the inbox and by email: members cannot turn those off.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of notice as the preferences page shows it."""

    name: str
    label: str
    email: bool = True  # the default for email (the inbox is on by default)
    admins_only: bool = False


KINDS: list[Kind] = [
    Kind("proposal.new", "A new proposal is put to the members", email=False),
    Kind("proposal.closed", "A proposal you took part in closed"),
    Kind("proposal.outcome", "The outcome of a proposal is written"),
    Kind("vote.opened", "A budget round or deal ballot opened"),
    Kind("vote.closing", "A vote closes tomorrow and you have not voted"),
    Kind("vote.published", "The outcome of a round or deal ballot is published"),
    Kind("dues.payment_failed", "A payment of your dues failed"),
    Kind("dues.grace_ending", "Your grace period ends tomorrow"),
    Kind("deal.vendor_answer", "A vendor answered a deal (admins)", admins_only=True),
    Kind("discussion.reply", "Someone replied to your comment"),
]
BY_NAME = {kind.name: kind for kind in KINDS}


def choosable(name: str) -> bool:
    """Whether members may turn this kind off."""
    return name in BY_NAME


def kinds_for(is_admin: bool) -> list[Kind]:
    """The kinds the preferences page lists for this member."""
    return [k for k in KINDS if is_admin or not k.admins_only]
