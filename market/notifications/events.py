"""Notices about votes (a budget round, a deal ballot): opened, closing tomorrow, published.

Any package that runs a vote calls these with a `Vote`; each notice is keyed by the vote
and the event, so a job that calls them every few minutes tells each member once. Pass the
audience as a query (`select(Member)…`): only members not yet told are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from market.notifications.services import Audience, notify_many


@dataclass(frozen=True)
class Vote:
    """A vote as notices name it: a key unique among votes, its name in the co-op's words."""

    key: str  # e.g. 'round-7', 'deal-ballot-3'
    what: str  # e.g. 'The budget round for March'
    link: str  # where members vote, or read the outcome (a site path)
    closes_at: datetime


def vote_opened(session: Session, vote: Vote, members: Audience) -> int:
    """Tell members a vote opened (once each); how many were told now."""
    when = f"{vote.closes_at:%d %b %Y %H:%M} UTC"
    made = notify_many(
        session,
        members,
        "vote.opened",
        f"{vote.what} is open",
        f"{vote.what} is open for your vote until {when}.",
        vote.link,
        event_key=f"{vote.key}:opened",
    )
    return len(made)


def vote_closing(session: Session, vote: Vote, not_voted: Audience) -> int:
    """Remind members who have not voted that the vote closes within a day (once each)."""
    when = f"{vote.closes_at:%d %b %Y %H:%M} UTC"
    made = notify_many(
        session,
        not_voted,
        "vote.closing",
        f"{vote.what} closes tomorrow",
        f"{vote.what} closes at {when} and you have not voted yet.",
        vote.link,
        event_key=f"{vote.key}:closing",
    )
    return len(made)


def vote_published(session: Session, vote: Vote, members: Audience) -> int:
    """Tell members a vote's outcome is published (once each)."""
    made = notify_many(
        session,
        members,
        "vote.published",
        f"{vote.what}: the outcome is published",
        f"{vote.what} has closed and its outcome is published.",
        vote.link,
        event_key=f"{vote.key}:published",
    )
    return len(made)
