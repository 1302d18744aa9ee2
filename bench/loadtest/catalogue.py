"""Catalogue traffic: browse the shelf, claim licences (scarce keys and seats), release them."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bench.loadtest.driver import User
from bench.loadtest.seed import Plan

RELEASE = re.compile(r'action="/licences/(\d+)/release"')
# Fewer keys and seats than members claiming them: sold-out answers and reuse of released
# keys are part of the run, which is where a key could end up with two holders.
KEYS_PER_PRODUCT = 25
SEATS = 30


def installed(app: Flask) -> bool:
    """True once the catalogue (products, keys, claims) are part of the app."""
    return "catalog.claim" in app.view_functions


def seed(session: Session, plan: Plan) -> None:
    """One channel and vendor; three key products, a seat product and a link product."""
    from catalog.models import Channel, LicenceKey, Product, Vendor

    channel = session.scalar(select(Channel).limit(1))
    if channel is None:
        channel = Channel(name="Load Channel", description="load test")
        session.add(channel)
    vendor = Vendor(name="Load Vendor", category="tools", market_share_bp=500)
    session.add(vendor)
    session.flush()
    kinds = [("key", 0), ("key", 0), ("key", 0), ("seat", SEATS), ("link", 0)]
    products = []
    for n, (kind, seats) in enumerate(kinds):
        product = Product(
            vendor_id=vendor.id, channel_id=channel.id, name=f"Load product {n}",
            category="tools", kind=kind, reassignable=True, seats_total=seats,
            redemption_url="https://vendor.example/redeem" if kind == "link" else "",
        )  # fmt: skip
        session.add(product)
        session.flush()
        products.append(product.id)
        if kind == "key":
            rows = [
                {"product_id": product.id, "value": f"KEY-{product.id}-{k:04d}"}
                for k in range(KEYS_PER_PRODUCT)
            ]
            session.execute(insert(LicenceKey), rows)
    plan.products = products


def pages(products: list[int]) -> list[str]:
    """Catalogue pages to browse."""
    return ["/catalogue", "/licences"] + [f"/catalogue/{p}" for p in products]


async def claim_or_release(user: User, products: list[int]) -> None:
    """Claim a product (303, or 409 when held or sold out), or give one back."""
    if user.rng.random() < 0.6:
        product = user.rng.choice(products)
        await user.request("claim", "GET", f"/catalogue/{product}")
        await user.form("claim", f"/catalogue/{product}/claim", {}, expect=(303, 409))
        return
    _status, page = await user.request("claim", "GET", "/licences")
    held = RELEASE.findall(page)
    if held:
        await user.form("claim", f"/licences/{user.rng.choice(held)}/release", {}, expect=(303,))


async def abandon_claim(user: User, products: list[int]) -> None:
    """Walk away from a claim or a release mid-request."""
    if user.rng.random() < 0.5:
        await user.abandon("POST", f"/catalogue/{user.rng.choice(products)}/claim", {})
        return
    _status, page = await user.request("claim", "GET", "/licences")
    held = RELEASE.findall(page)
    if held:
        await user.abandon("POST", f"/licences/{user.rng.choice(held)}/release", {})
