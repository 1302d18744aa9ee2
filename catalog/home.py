"""The licences card on the member's home page."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import LIVE, Claim
from market.home import HomeCard
from market.members.models import Member


def licences_card(session: Session, member: Member) -> HomeCard | None:
    """How many licences the member holds, and the way to the shelf."""
    held = session.scalar(
        select(func.count()).select_from(Claim).where(Claim.member_id == member.id, LIVE)
    )
    if not held:
        text = "You hold no licences yet: every member in good standing may claim every one."
        return HomeCard("Your licences", text, "Browse the catalogue", url_for("catalog.catalogue"))
    plural = "licence" if held == 1 else "licences"
    return HomeCard(
        "Your licences",
        f"You hold {held} {plural}.",
        "My licences",
        url_for("licences.my_licences"),
    )
