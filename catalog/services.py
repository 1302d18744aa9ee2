"""Stocking the shelf: channels, vendors (leaders and challengers) and products.

Plain functions taking a session first; they flush, never commit, and raise DomainError
with messages an admin can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from catalog.models import Channel, ChannelKind, Claim, LicenceKey, Product, ProductKind, Vendor
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.members.models import Member

FULL_SHARE_BP = 10_000


def _require_admin(actor: Member) -> None:
    if not actor.is_admin:
        raise Forbidden("Only admins can change the catalogue.")


def _text(raw: str | None, label: str, limit: int, required: bool = True) -> str:
    value = " ".join((raw or "").split())
    if required and not value:
        raise DomainError(f"Please give a {label}.")
    if len(value) > limit:
        raise DomainError(f"The {label} can have at most {limit} characters.")
    return value


# --- channels -------------------------------------------------------------------------


@dataclass
class ChannelInput:
    """What an admin may set on a channel."""

    name: str
    description: str = ""
    steward_contact: str = ""
    active: bool = True


def save_channel(
    session: Session, actor: Member, data: ChannelInput, channel: Channel | None = None
) -> Channel:
    """Create a channel, or update `channel`, after checking the name is free."""
    _require_admin(actor)
    name = _text(data.name, "channel name", 80)
    clash = select(Channel.id).where(func.lower(Channel.name) == name.lower())
    if channel is not None:
        clash = clash.where(Channel.id != channel.id)
    if session.scalar(clash) is not None:
        raise Conflict(f"A channel called {name!r} already exists.")
    channel = channel or Channel()
    channel.name = name
    channel.description = (data.description or "").strip()
    channel.steward_contact = _text(data.steward_contact, "steward contact", 254, False)
    channel.active = data.active
    session.add(channel)
    session.flush()
    return channel


def get_channel(session: Session, channel_id: int) -> Channel:
    """A channel by id, or NotFound."""
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound("No such channel.")
    return channel


def list_channels(session: Session, active_only: bool = False) -> list[Channel]:
    """The bundlers' channels by name (the acquisition reserve is not one: market.reserve)."""
    query = select(Channel).where(Channel.kind == ChannelKind.BUNDLE.value).order_by(Channel.name)
    if active_only:
        query = query.where(Channel.active.is_(True))
    return list(session.scalars(query))


# --- vendors --------------------------------------------------------------------------


@dataclass
class VendorInput:
    """What an admin may set on a vendor (market share in basis points)."""

    name: str
    category: str
    market_share_bp: int
    website: str = ""
    contact_email: str = ""


CONTACT_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _contact_email(raw: str) -> str:
    address = (raw or "").strip()
    if address and (len(address) > 254 or not CONTACT_EMAIL.match(address)):
        raise DomainError("The contact email must be one address, like sales@vendor.example.")
    return address


def save_vendor(
    session: Session, actor: Member, data: VendorInput, vendor: Vendor | None = None
) -> Vendor:
    """Create a vendor, or update `vendor`."""
    _require_admin(actor)
    name = _text(data.name, "vendor name", 80)
    if not 0 <= data.market_share_bp <= FULL_SHARE_BP:
        raise DomainError("Market share must be between 0 % and 100 %.")
    website = _text(data.website, "website", 254, False)
    if website and not website.startswith(("https://", "http://")):
        raise DomainError("The website must start with https:// or http://.")
    clash = select(Vendor.id).where(func.lower(Vendor.name) == name.lower())
    if vendor is not None:
        clash = clash.where(Vendor.id != vendor.id)
    if session.scalar(clash) is not None:
        raise Conflict(f"A vendor called {name!r} already exists.")
    vendor = vendor or Vendor()
    vendor.name = name
    vendor.category = _text(data.category, "category", 80).lower()
    vendor.market_share_bp = data.market_share_bp
    vendor.website = website
    vendor.contact_email = _contact_email(data.contact_email)
    session.add(vendor)
    session.flush()
    return vendor


def get_vendor(session: Session, vendor_id: int) -> Vendor:
    """A vendor by id, or NotFound."""
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise NotFound("No such vendor.")
    return vendor


def leader_ids(session: Session, leader_share_bp: int) -> set[int]:
    """Ids of the vendors who are market leaders, in one query.

    A leader holds at least `leader_share_bp` of its category, or is the largest in it.
    "Largest" is judged on what the co-op knows: no recorded vendor in the category has a
    larger share, and the share nobody recorded (100 % minus the recorded shares) is not
    larger either, so an unlisted giant could not be hiding in it. A 9 % vendor among
    recorded 6 % and 4 % rivals is therefore still a challenger (81 % is unaccounted for).
    """
    per_category = (
        select(
            Vendor.category.label("category"),
            func.max(Vendor.market_share_bp).label("top"),
            func.sum(Vendor.market_share_bp).label("recorded"),
        )
        .group_by(Vendor.category)
        .subquery()
    )
    share = Vendor.market_share_bp
    largest = (share >= per_category.c.top) & (share >= FULL_SHARE_BP - per_category.c.recorded)
    query = (
        select(Vendor.id)
        .join(per_category, per_category.c.category == Vendor.category)
        .where(or_(share >= leader_share_bp, largest))
    )
    return set(session.scalars(query))


def list_vendors(session: Session) -> list[Vendor]:
    """Vendors by category, then name."""
    return list(session.scalars(select(Vendor).order_by(Vendor.category, Vendor.name)))


# --- products -------------------------------------------------------------------------


@dataclass
class ProductInput:
    """What an admin may set on a product."""

    vendor_id: int
    channel_id: int
    name: str
    category: str
    kind: str
    description: str = ""
    terms: str = ""
    reassignable: bool = True
    seats_total: int = 0
    redemption_url: str = ""
    justification: str = ""
    active: bool = True


def _check_product(
    session: Session, data: ProductInput, product: Product | None, leader_share_bp: int
) -> None:
    if data.kind not in set(ProductKind):
        raise DomainError("Kind must be a key pool, a seat pool or a link.")
    get_vendor(session, data.vendor_id)
    if get_channel(session, data.channel_id).kind != ChannelKind.BUNDLE:
        raise DomainError("The acquisition reserve holds no products; choose a channel.")
    if data.kind == ProductKind.LINK and not data.redemption_url.startswith(
        ("https://", "http://")
    ):
        raise DomainError("A link product needs a redemption URL starting with https://.")
    if data.seats_total < 0:
        raise DomainError("Seats cannot be negative.")
    if product is not None:
        if product.kind == ProductKind.SEAT and data.seats_total < product.seats_used:
            raise Conflict(
                f"{product.seats_used} seats are in use; the pool cannot be smaller than that."
            )
        if data.kind != product.kind and _has_stock_or_claims(session, product.id):
            raise Conflict("This product already has keys or claims; its kind cannot change.")
    if data.vendor_id in leader_ids(session, leader_share_bp) and not data.justification.strip():
        raise DomainError(
            "This vendor is a market leader. The co-op buys from challengers, so listing a "
            "leader's product needs a written justification."
        )


def _has_stock_or_claims(session: Session, product_id: int) -> bool:
    key = select(LicenceKey.id).where(LicenceKey.product_id == product_id).limit(1)
    held = select(Claim.id).where(Claim.product_id == product_id).limit(1)
    return session.scalar(key) is not None or session.scalar(held) is not None


def save_product(
    session: Session,
    actor: Member,
    data: ProductInput,
    leader_share_bp: int,
    product: Product | None = None,
) -> Product:
    """Create a product, or update `product`; a leader's product needs a justification."""
    _require_admin(actor)
    data.name = _text(data.name, "product name", 120)
    data.category = _text(data.category, "category", 80).lower()
    data.redemption_url = (data.redemption_url or "").strip()
    _check_product(session, data, product, leader_share_bp)
    product = product or Product(seats_used=0)
    for field in [
        "vendor_id",
        "channel_id",
        "name",
        "category",
        "kind",
        "reassignable",
        "seats_total",
        "redemption_url",
        "active",
    ]:
        setattr(product, field, getattr(data, field))
    product.description = data.description.strip()
    product.terms = data.terms.strip()
    product.justification = data.justification.strip()
    if product.kind != ProductKind.SEAT:
        product.seats_total = 0
    session.add(product)
    session.flush()
    return product


def get_product(session: Session, product_id: int) -> Product:
    """A product by id, or NotFound."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    return product


def categories(session: Session) -> list[str]:
    """The product categories in use (active products only), alphabetically."""
    query = select(Product.category).where(Product.active.is_(True)).distinct()
    return sorted(session.scalars(query))
