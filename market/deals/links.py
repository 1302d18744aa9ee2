"""Private vendor links: unguessable tokens (only their SHA-256 is stored), expiry, revocation."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.deals.models import Deal, VendorLink
from market.deals.states import FINISHED, Actor, Status, apply_move
from market.errors import Conflict, NotFound
from market.members.models import Member

TOKEN_BYTES = 32
MAX_DAYS = 90


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256 in hex (the token itself is never kept)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_link(
    session: Session, admin: Member, deal: Deal, days: int, now: datetime | None = None
) -> tuple[VendorLink, str]:
    """A new link for the deal's vendor, and its token (shown once); a draft becomes requested."""
    now = now or utcnow()
    if Status(deal.status) in FINISHED:
        raise Conflict(f"This deal is {deal.status}; it needs no vendor link.")
    days = max(1, min(days, MAX_DAYS))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = VendorLink(
        deal_id=deal.id,
        token_hash=hash_token(token),
        created_by=admin.id,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(link)
    session.flush()
    if deal.status == Status.DRAFT:
        apply_move(
            session,
            deal,
            Status.REQUESTED,
            Actor.ADMIN,
            member_id=admin.id,
            note="Sent the vendor a private link asking for an offer.",
            now=now,
        )
    return link, token


def revoke_link(
    session: Session, deal: Deal, link_id: int, now: datetime | None = None
) -> VendorLink:
    """Revoke one of the deal's links at once (idempotent)."""
    link = session.get(VendorLink, link_id)
    if link is None or link.deal_id != deal.id:
        raise NotFound("No such link.")
    if link.revoked_at is None:
        link.revoked_at = now or utcnow()
        session.flush()
    return link


def links_of(session: Session, deal: Deal) -> list[VendorLink]:
    """The deal's links, newest first."""
    query = select(VendorLink).where(VendorLink.deal_id == deal.id).order_by(VendorLink.id.desc())
    return list(session.scalars(query))


def resolve(session: Session, token: str, now: datetime | None = None) -> tuple[Deal, VendorLink]:
    """The deal a live token opens; NotFound (and nothing else) for forged, expired, revoked."""
    now = now or utcnow()
    if not token or len(token) > 100:
        raise NotFound("Not found.")
    link = session.scalar(select(VendorLink).where(VendorLink.token_hash == hash_token(token)))
    if link is None or link.revoked_at is not None or link.expires_at <= now:
        raise NotFound("Not found.")
    deal = session.get(Deal, link.deal_id)
    if deal is None:
        raise NotFound("Not found.")
    return deal, link


def touch(link: VendorLink, ip: str | None, now: datetime | None = None) -> None:
    """Remember when and from where the vendor last answered through the link."""
    link.last_used_at = now or utcnow()
    link.last_ip = (ip or "")[:45] or None
