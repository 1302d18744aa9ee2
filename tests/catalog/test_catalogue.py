"""Browsing the catalogue: filters, search, pagination, stock counts, constant queries."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog import claims
from market.webdb import database
from tests.catalog.factories import make_channel, make_product, make_vendor
from tests.market.factories import make_member
from tests.support import count_queries


def test_browse_by_channel_category_and_name(client: FlaskClient, session: Session) -> None:
    safe = make_channel(session, name="Safe & Private")
    make_things = make_channel(session, name="Make Things")
    make_product(
        session, name="Vaultly Password Manager", category="password manager", channel=safe, keys=3
    )
    make_product(
        session, name="Tunnel VPN", category="vpn", channel=safe, kind="seat", seats_total=10
    )
    make_product(
        session,
        name="Pixel Studio",
        category="photo",
        channel=make_things,
        kind="link",
        redemption_url="https://pixel.example.com/",
    )
    everything = client.get("/catalogue").get_data(as_text=True)
    assert all(n in everything for n in ("Vaultly", "Tunnel VPN", "Pixel Studio"))
    by_channel = client.get(f"/catalogue?channel={safe.id}").get_data(as_text=True)
    assert "Vaultly" in by_channel and "Pixel Studio" not in by_channel
    by_category = client.get("/catalogue?category=vpn").get_data(as_text=True)
    assert "Tunnel VPN" in by_category and "Vaultly" not in by_category
    search = client.get("/catalogue?q=PIXEL").get_data(as_text=True)
    assert "Pixel Studio" in search and "Vaultly" not in search
    nothing = client.get("/catalogue?q=100%25_").get_data(as_text=True)
    assert "Nothing matches" in nothing


def test_each_product_shows_vendor_channel_kind_terms_and_stock(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor(session, name="Vaultly Inc", share_bp=900)
    product = make_product(session, vendor=vendor, keys=7, terms="One device per member.")
    page = client.get(f"/catalogue/{product.id}").get_data(as_text=True)
    for text in ("Vaultly Inc", "challenger", "Licence key", "One device per member.", "7 left"):
        assert text in page, text
    assert "Log in" in page  # anonymous visitors can browse, claiming needs a login
    assert "7 left" in client.get("/catalogue").get_data(as_text=True)


def test_inactive_products_and_channels_are_hidden(client: FlaskClient, session: Session) -> None:
    closed = make_channel(session, name="Closed", active=False)
    make_product(session, name="Ghost App", channel=closed)
    make_product(session, name="Retired App", active=False)
    page = client.get("/catalogue").get_data(as_text=True)
    assert "Ghost App" not in page and "Retired App" not in page


def test_pages_paginate(client: FlaskClient, session: Session) -> None:
    channel = make_channel(session)
    vendor = make_vendor(session)
    for i in range(45):
        make_product(session, name=f"App {i:02d}", channel=channel, vendor=vendor)
    first = client.get("/catalogue").get_data(as_text=True)
    assert "App 00" in first and "App 20" not in first and "Page 1 of 3" in first
    third = client.get("/catalogue?page=3").get_data(as_text=True)
    assert "App 44" in third and "App 00" not in third
    assert "Page 3 of 3" in client.get("/catalogue?page=99").get_data(as_text=True)


def test_member_sees_what_they_hold(
    client: FlaskClient, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session)
    product = make_product(session, keys=2)
    claims.claim(session, member, product.id)
    session.commit()
    login(member)
    assert "Yours" in client.get("/catalogue").get_data(as_text=True)
    assert "You hold this licence" in client.get(f"/catalogue/{product.id}").get_data(as_text=True)


def _stock(session: Session, n: int) -> None:
    channels = [make_channel(session) for _ in range(3)]
    vendors = [make_vendor(session) for _ in range(4)]
    for i in range(n):
        kind = ("key", "seat", "link")[i % 3]
        make_product(
            session,
            kind=kind,
            keys=2 if kind == "key" else 0,
            seats_total=5 if kind == "seat" else 0,
            redemption_url="https://example.com/r",
            channel=channels[i % 3],
            vendor=vendors[i % 4],
        )


def _queries_for_page(app: Flask, client: FlaskClient, url: str) -> int:
    with count_queries(database(app).engine) as statements:
        assert client.get(url).status_code == 200
    return len(statements)


def test_catalogue_page_costs_the_same_queries_for_10_or_60_products(
    app: Flask, client: FlaskClient, session: Session, login: Callable[..., FlaskClient]
) -> None:
    _stock(session, 10)
    small = _queries_for_page(app, client, "/catalogue")
    _stock(session, 50)
    large = _queries_for_page(app, client, "/catalogue")
    assert small == large, (small, large)
    assert small <= 6, small
    login(make_member(session))
    member_small = _queries_for_page(app, client, "/catalogue?page=1")
    member_large = _queries_for_page(app, client, "/catalogue?page=3")
    assert member_small == member_large
