"""Who hears about a move in a negotiation: admins of the vendor's answers, the vendor of
the co-op's counter-offers (by email to the vendor's contact address)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Vendor
from market.deals.models import Deal
from market.deals.states import LABELS, Actor, Status
from market.members.models import Member
from market.notifications.services import email_address, notify_many


def after_move(session: Session, deal: Deal, after: str, actor: str, terms: str = "") -> None:
    """Tell the other side of a negotiation that it has moved (`terms`: an offer's tiers)."""
    if actor == Actor.VENDOR.value:
        _tell_admins(session, deal, after)
    elif actor == Actor.ADMIN.value and after == Status.COUNTERED.value:
        _tell_vendor(session, deal, terms)


def _tell_admins(session: Session, deal: Deal, after: str) -> None:
    admins = session.scalars(select(Member).where(Member.is_admin).order_by(Member.id))
    # The deal's title is the co-op's own words (an admin wrote it).
    notify_many(
        session,
        admins,
        "deal.vendor_answer",
        f"The vendor answered: {deal.title}",
        # What the vendor wrote (notes, reasons) is not quoted: it stays on the deal page.
        f"The vendor moved the deal “{deal.title}” to: {LABELS[Status(after)]}. "
        "Open the deal to read it and answer.",
        f"/admin/deals/{deal.id}",
    )


def _tell_vendor(session: Session, deal: Deal, terms: str) -> None:
    vendor = session.get(Vendor, deal.vendor_id)
    if vendor is None or not vendor.contact_email:
        return
    email_address(
        session,
        vendor.contact_email,
        "deal.counter",
        f"Counter-offer from the Commons Software Co-op: {deal.title}",
        f"The co-op has answered your offer for “{deal.title}” with a counter-offer "
        f"({terms}). Open the private deal link the co-op sent you to "
        "accept it, reject it or make a new offer.",
        greeting=f"Hello {vendor.name},",
    )
