"""The budget round's card on the member's home page."""

from __future__ import annotations

from flask import url_for
from sqlalchemy.orm import Session

from allocation import rounds
from market.home import HomeCard
from market.members.models import Member, MemberStatus


def vote_card(session: Session, member: Member) -> HomeCard | None:
    """Whether the member's split counts in the open round, and until when."""
    rnd = rounds.current_round(session)
    if rnd is None or member.status in (MemberStatus.CANCELLED, MemberStatus.LAPSED):
        return None  # not invited to vote: the page's banner says why and how to come back
    if member.status == MemberStatus.PENDING:
        text = "Once your first dues are paid you can split the pool in next month's round."
        return HomeCard(
            f"{rounds.month_name(rnd.period)}'s budget vote",
            text,
            "Pay my dues",
            url_for("billing.my_dues"),
            urgent=True,
        )
    title = f"{rounds.month_name(rnd.period)}'s budget vote"
    standing = rounds.standing_for(session, rnd, member)
    closes = f"{rnd.closes_at:%d %B}"
    if not standing.eligible:
        return HomeCard(title, standing.reason, "See the rounds", url_for("rounds.index"))
    ballot = standing.ballot
    if ballot is None or ballot.abstain:
        text = f"You have no split in this round. Voting closes on {closes}."
        return HomeCard(title, text, "Split the pool", url_for("rounds.vote"), urgent=True)
    how = "Your split from last month stands" if ballot.carried_over else "Your split is in"
    text = f"{how}; you can change it until {closes}."
    return HomeCard(title, text, "Review my split", url_for("rounds.vote"))
