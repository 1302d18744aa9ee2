"""Factories for catalogue rows (channels, vendors, products, keys)."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from catalog.models import Channel, LicenceKey, Product, Vendor

_seq = itertools.count(1)


def make_channel(session: Session, **fields: Any) -> Channel:
    """An active channel."""
    n = next(_seq)
    channel = Channel(name=fields.pop("name", f"Channel {n}"), **fields)
    session.add(channel)
    session.flush()
    return channel


def make_vendor(session: Session, share_bp: int = 500, **fields: Any) -> Vendor:
    """A challenger (5 % of a category of its own, most of it unrecorded) unless told otherwise."""
    n = next(_seq)
    vendor = Vendor(
        name=fields.pop("name", f"Vendor {n}"),
        category=fields.pop("category", "utilities"),
        market_share_bp=share_bp,
        **fields,
    )
    session.add(vendor)
    session.flush()
    return vendor


def make_product(
    session: Session,
    kind: str = "key",
    keys: int = 0,
    vendor: Vendor | None = None,
    channel: Channel | None = None,
    **fields: Any,
) -> Product:
    """An active product (with `keys` licence keys when it is a key pool)."""
    n = next(_seq)
    vendor = vendor or make_vendor(session)
    channel = channel or make_channel(session)
    product = Product(
        vendor_id=vendor.id,
        channel_id=channel.id,
        name=fields.pop("name", f"Product {n}"),
        category=fields.pop("category", "tools"),
        kind=kind,
        seats_total=fields.pop("seats_total", 0),
        seats_used=0,
        **fields,
    )
    session.add(product)
    session.flush()
    if keys:
        add_keys(session, product, keys)
    return product


def add_keys(session: Session, product: Product, count: int, prefix: str = "KEY") -> None:
    """Stock `count` keys named PREFIX-<product>-<i>."""
    session.execute(
        insert(LicenceKey),
        [
            {"product_id": product.id, "value": f"{prefix}-{product.id}-{i:05d}"}
            for i in range(count)
        ],
    )
    session.flush()
