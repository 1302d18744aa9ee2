"""The group-buy card on the member's home page."""

from __future__ import annotations

from flask import url_for
from sqlalchemy.orm import Session

from market.deals import groupbuy
from market.deals.read import deal_view
from market.home import HomeCard
from market.members.models import Member


def group_buy_card(session: Session, member: Member) -> HomeCard | None:
    """The open group buy closest to its deadline, and whether the member is in."""
    buys = groupbuy.open_group_buys(session)
    if not buys:
        return None
    deal = buys[0]
    progress = groupbuy.progress(session, deal, member)
    name = deal_view(session, deal).product.name
    text = (
        f"{name}: {progress.committed} of {progress.needed} members in good standing have committed"
    )
    if deal.deadline is not None:
        text += f", by {deal.deadline:%d %B}"
    text += ". You are in." if progress.mine else "."
    more = f" ({len(buys)} open)" if len(buys) > 1 else ""
    return HomeCard(
        "Group buys" + more,
        text,
        "See the deal",
        url_for("deals.detail", deal_id=deal.id),
        urgent=not progress.mine,
    )
