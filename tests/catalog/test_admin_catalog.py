"""Admins stock the shelf: channels, vendors, leaders' justifications, stock, seat usage."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import claims
from catalog.models import Channel, Product, Vendor
from catalog.services import leader_ids
from tests.catalog.factories import make_channel, make_product, make_vendor
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _admin(session: Session, login: Login) -> FlaskClient:
    return login(make_member(session, admin=True))


def _product_form(vendor: Vendor, channel: Channel, **overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "name": "Offline Editor",
        "vendor_id": vendor.id,
        "channel_id": channel.id,
        "category": "Photo",
        "kind": "key",
        "description": "Edits photos without a connection.",
        "terms": "One install per member.",
        "reassignable": "y",
        "active": "y",
        "seats_total": "0",
    }
    form.update(overrides)
    return form


def test_admin_creates_and_edits_a_channel(
    client: FlaskClient, session: Session, login: Login
) -> None:
    _admin(session, login)
    data = {
        "name": "Know More",
        "description": "News",
        "steward_contact": "s@example.com",
        "active": "y",
    }
    assert client.post("/admin/catalog/channels/new", data=data).status_code == 302
    channel = session.scalar(select(Channel).where(Channel.name == "Know More"))
    assert channel is not None and channel.active
    again = client.post("/admin/catalog/channels/new", data={**data, "name": "know more"})
    assert again.status_code == 400 and "already exists" in again.get_data(as_text=True)
    edited = client.post(
        f"/admin/catalog/channels/{channel.id}", data={"name": "Know More", "description": "x"}
    )
    assert edited.status_code == 302
    session.refresh(channel)
    assert channel.active is False
    assert client.get("/admin/catalog/channels/99999").status_code == 404


def test_admin_records_vendors_with_market_share(
    client: FlaskClient, session: Session, login: Login
) -> None:
    _admin(session, login)
    data = {
        "name": "Pixelforge",
        "category": "Photo editors",
        "market_share": "48.5",
        "website": "https://pixelforge.example.com",
    }
    assert client.post("/admin/catalog/vendors/new", data=data).status_code == 302
    vendor = session.scalar(select(Vendor).where(Vendor.name == "Pixelforge"))
    assert vendor is not None
    assert (vendor.market_share_bp, vendor.category) == (4850, "photo editors")
    bad = client.post(
        "/admin/catalog/vendors/new", data={**data, "name": "X", "market_share": "101"}
    )
    assert bad.status_code == 400 and "between 0 and 100" in bad.get_data(as_text=True)
    page = client.get("/admin/catalog/vendors").get_data(as_text=True)
    assert "Pixelforge" in page and "leader" in page


def test_market_shares_are_read_exactly_or_refused(
    client: FlaskClient, session: Session, login: Login
) -> None:
    """NaN, infinities, exponents and shares finer than a basis point are form errors."""
    _admin(session, login)
    base = {"name": "Sharp", "category": "Editors", "website": ""}
    cases = {
        "NaN": "not a percentage",
        "sNaN": "not a percentage",
        "Infinity": "not a percentage",
        "1e1": "not a percentage",
        "12.345": "at most 2 decimal places",
        "-1": "between 0 and 100 %",
        "100.01": "between 0 and 100 %",
    }
    for text, reason in cases.items():
        response = client.post("/admin/catalog/vendors/new", data={**base, "market_share": text})
        assert response.status_code == 400 and reason in response.get_data(as_text=True), text
    assert session.scalar(select(func.count(Vendor.id)).where(Vendor.name == "Sharp")) == 0
    ok = client.post("/admin/catalog/vendors/new", data={**base, "market_share": "12.34 %"})
    assert ok.status_code == 302
    vendor = session.scalars(select(Vendor).where(Vendor.name == "Sharp")).one()
    assert vendor.market_share_bp == 1234
    page = client.get(f"/admin/catalog/vendors/{vendor.id}").get_data(as_text=True)
    assert 'value="12.34"' in page


def test_leaders_by_share_or_by_being_the_largest(session: Session) -> None:
    big = make_vendor(session, share_bp=2000, category="vpn")
    make_vendor(session, share_bp=900, category="vpn")
    # 9 %, 6 %, 4 %: 81 % of the market is unaccounted for, so nobody is proven largest.
    small = [make_vendor(session, share_bp=bp, category="mail") for bp in (900, 600, 400)]
    # 19 % when the rest recorded is 70 %: nobody unrecorded can be larger.
    largest = make_vendor(session, share_bp=1900, category="ide")
    make_vendor(session, share_bp=7000 - 1900 - 100, category="ide")
    make_vendor(session, share_bp=100, category="ide")
    leaders = leader_ids(session, 2000)
    assert big.id in leaders
    assert not leaders & {v.id for v in small}
    assert largest.id not in leaders  # 19 % < the 50 % rival
    assert len(leaders) == 2  # the 20 % VPN vendor and the 50 % IDE vendor


def test_a_leaders_product_needs_a_justification(
    client: FlaskClient, session: Session, login: Login
) -> None:
    _admin(session, login)
    leader = make_vendor(session, share_bp=4800, category="photo editors")
    channel = make_channel(session)
    count = session.scalar(select(func.count()).select_from(Product))
    refused = client.post("/admin/catalog/products/new", data=_product_form(leader, channel))
    assert refused.status_code == 400
    assert "needs a written justification" in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Product)) == count
    reason = "no challenger offers an offline editor yet"
    made = client.post(
        "/admin/catalog/products/new", data=_product_form(leader, channel, justification=reason)
    )
    assert made.status_code == 302
    product = session.scalar(select(Product).where(Product.name == "Offline Editor"))
    assert product is not None and product.justification == reason
    page = client.get(f"/catalogue/{product.id}").get_data(as_text=True)
    assert reason in page and "market leader" in page


def test_product_validation(client: FlaskClient, session: Session, login: Login) -> None:
    _admin(session, login)
    vendor, channel = make_vendor(session), make_channel(session)
    link = client.post(
        "/admin/catalog/products/new", data=_product_form(vendor, channel, kind="link")
    )
    assert link.status_code == 400 and "redemption URL" in link.get_data(as_text=True)
    seats = make_product(session, kind="seat", seats_total=3, vendor=vendor, channel=channel)
    claims.claim(session, make_member(session), seats.id)
    claims.claim(session, make_member(session), seats.id)
    session.commit()
    shrink = client.post(
        f"/admin/catalog/products/{seats.id}",
        data=_product_form(vendor, channel, kind="seat", seats_total="1"),
    )
    assert shrink.status_code == 400 and "2 seats are in use" in shrink.get_data(as_text=True)
    grow = client.post(
        f"/admin/catalog/products/{seats.id}",
        data=_product_form(vendor, channel, kind="seat", seats_total="10"),
    )
    assert grow.status_code == 302
    session.refresh(seats)
    assert (seats.seats_total, seats.seats_used) == (10, 2)


def test_stock_page_warns_of_low_stock(client: FlaskClient, session: Session, login: Login) -> None:
    _admin(session, login)
    make_product(session, name="Plenty", keys=50)
    make_product(session, name="Nearly Gone", keys=3)
    make_product(session, name="Seat Squeeze", kind="seat", seats_total=200)
    page = client.get("/admin/catalog/").get_data(as_text=True)
    assert "1 product running low" in page
    assert page.count('class="low"') == 1  # only "Nearly Gone" (50 and 200 are fine)


def test_seat_usage_csv_per_vendor(client: FlaskClient, session: Session, login: Login) -> None:
    _admin(session, login)
    vendor = make_vendor(session, name="NewsDesk Ltd")
    keys = make_product(session, name="Desk Keys", vendor=vendor, keys=4)
    seats = make_product(session, name="Desk Seats", vendor=vendor, kind="seat", seats_total=9)
    for product in (keys, seats):
        for _ in range(2):
            claims.claim(session, make_member(session), product.id)
    session.commit()
    response = client.get(f"/admin/catalog/vendors/{vendor.id}/seats.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "seats-newsdesk-ltd.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [
        ["product", "kind", "seats_total", "seats_used", "members_holding"],
        ["Desk Keys", "key", "4", "2", "2"],
        ["Desk Seats", "seat", "9", "2", "2"],
    ]
    assert "KEY-" not in response.get_data(as_text=True)
