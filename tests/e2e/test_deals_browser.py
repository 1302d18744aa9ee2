"""Browser: a member wants an app, an admin opens a group buy, the vendor offers tiers through
the private link, the admin accepts, members commit past the threshold, settle tips it, the
seats appear in the catalogue and the ledger holds the booking.

56 of the commitments are made through the service (a browser per member would be slow);
the member in the browser is the 57th.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from catalog import services as catalog
from catalog.models import Product
from market.db import utcnow
from market.deals import groupbuy
from market.deals.models import Deal
from market.ledger.models import LedgerTransaction
from market.ledger.services import balance, channel_code, vendor_code
from market.members.models import Member
from market.webdb import database
from tests.catalog.factories import make_channel
from tests.market.deals.factories import fund_channel
from tests.market.factories import PASSWORD, make_member
from tests.support import LiveServer


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


def _seed(server: LiveServer) -> dict[str, Any]:
    with database(server.app).transaction() as s:
        admin = make_member(s, admin=True, email="alex@example.com", display_name="Alex Admin")
        make_member(s, email="nia@example.com", display_name="Nia Okafor")
        safe = make_channel(s, name="Safe & Private")
        fund_channel(s, safe, 18_000)
        vendor = catalog.save_vendor(
            s, admin, catalog.VendorInput("Penny Labs", "budgeting", 400, "https://penny.example")
        )
        product = catalog.save_product(
            s,
            admin,
            catalog.ProductInput(vendor.id, safe.id, "Penny Budget", "budgeting", "seat"),
            2000,
        )
        others = [make_member(s) for _ in range(56)]
        return {
            "channel": safe.id,
            "vendor": vendor.id,
            "product": product.id,
            "others": [m.id for m in others],
        }


def test_group_buy_from_want_to_catalogue(
    page: Any, browser: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    base = live_server.url
    ids = _seed(live_server)

    # A member asks for the app.
    _log_in(page, base, "nia@example.com")
    page.get_by_role("link", name="Deals").click()
    page.get_by_role("link", name="See the list, or ask for software").click()
    page.get_by_label("Software", exact=True).fill("Penny Budget")
    page.get_by_label("Made by").fill("Penny Labs")
    page.get_by_label("Channel it fits").select_option(label="Safe & Private")
    page.get_by_role("button", name="Ask for it").click()
    page.get_by_text("is on the list, with your want").wait_for()
    page.get_by_role("button", name="Log out").click()

    # The admin opens a group buy answering that request, and makes a vendor link.
    _log_in(page, base, "alex@example.com")
    page.goto(base + "/admin/deals/new")
    page.get_by_label("Title").fill("Penny Budget group buy")
    page.get_by_label("Product (and so its vendor)").select_option(
        label="Penny Budget — Penny Labs"
    )
    page.get_by_label("Paid from the budget of").select_option(label="Safe & Private")
    page.get_by_label("Answers the member request").select_option(label="Penny Budget")
    page.get_by_label("Seats wanted").fill("60")
    page.get_by_label("Group buy: only go ahead").check()
    page.get_by_label("Tips at (members)").fill("50")
    deadline = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Commitment deadline (UTC)").fill(deadline)
    page.get_by_role("button", name="Open the deal").click()
    page.get_by_role("button", name="Create vendor link").click()
    flash = page.locator(".flash").first.inner_text()
    link = re.search(r"https?://\S+/vendor/deals/\S+", flash)
    assert link is not None, flash
    admin_url = page.url

    # The vendor, with no account, answers in a fresh browser context.
    vendor_ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    vendor = vendor_ctx.new_page()
    vendor.goto(link.group(0))
    assert "1 member wants this" in vendor.locator(".demand").inner_text()
    for row, (seats, price) in enumerate([("1", "1.20"), ("50", "0.90"), ("150", "0.70")], 1):
        vendor.get_by_label(f"Tier {row} from seats").fill(seats)
        vendor.get_by_label(f"Tier {row} price per seat").fill(price)
    vendor.get_by_label("Minimum seats").fill("50")
    vendor.get_by_label("Notes").fill("Volume pricing for the co-op.")
    vendor.get_by_role("button", name="Send offer").click()
    vendor.get_by_text("your offer is with the co-op").wait_for()
    vendor.screenshot(path=str(tmp_path / "vendor.png"), full_page=True)
    vendor_ctx.close()

    # The admin accepts.
    page.goto(admin_url)
    page.get_by_role("button", name="Accept the vendor's offer").click()
    page.get_by_text("Deal accepted.").wait_for()

    # 56 members commit (service), then Nia in the browser: 57.
    with database(live_server.app).transaction() as s:
        deal = s.scalars(select(Deal)).one()
        for member_id in ids["others"]:
            member = s.get(Member, member_id)
            assert member is not None
            groupbuy.commit(s, member, deal)
    page.get_by_role("button", name="Log out").click()
    _log_in(page, base, "nia@example.com")
    page.get_by_role("link", name="Deals").click()
    page.get_by_role("link", name="Penny Budget group buy").click()
    assert "56 of 50" in page.content()
    page.get_by_role("button", name="Commit: count me in").click()
    page.get_by_text("You are committed").first.wait_for()
    assert "57 of 50" in page.content()
    member_url = page.url
    page.get_by_role("button", name="Log out").click()

    # The admin settles: it tips at the 50-seat tier.
    _log_in(page, base, "alex@example.com")
    page.goto(admin_url)
    page.get_by_role("button", name="Settle now").click()
    page.get_by_text("Tipped: 57 seats for $51.30 a month").first.wait_for()
    page.screenshot(path=str(tmp_path / "admin-deal.png"), full_page=True)
    page.get_by_role("button", name="Log out").click()

    # Nia sees it tipped, the seats are in the catalogue, and she has a notification.
    _log_in(page, base, "nia@example.com")
    page.goto(member_url)
    page.get_by_text("It tipped: 57 seats were bought").wait_for()
    assert "$51.30 a month" in page.content()
    page.screenshot(path=str(Path("/tmp") / "deals-e2e-member.png"), full_page=True)
    page.goto(base + "/catalogue")
    row = page.get_by_role("row", name=re.compile("Penny Budget"))
    # The 57 seats were claimed for the 57 committed members on tipping: Nia holds hers.
    assert "none left" in row.inner_text() and "Yours" in row.inner_text()
    page.get_by_role("link", name=re.compile("Inbox")).click()
    page.get_by_text("Group buy tipped: Penny Budget group buy").wait_for()

    # The public Books show the channel's money going to the vendor.
    page.get_by_role("link", name="Books").click()
    books_row = page.get_by_role("row", name=re.compile("Safe & Private")).inner_text()
    assert "$51.30" in books_row and "$128.70" in books_row  # spent on deals; still owed

    with database(live_server.app).transaction() as s:
        product = s.get(Product, ids["product"])
        assert product is not None and product.seats_total == product.seats_used == 57
        assert balance(s, vendor_code(ids["vendor"])) == 5130
        assert balance(s, channel_code(ids["channel"])) == 18_000 - 5130
        booked = s.scalars(select(LedgerTransaction).where(LedgerTransaction.kind == "deal")).one()
        assert booked.key.endswith(":settle")
