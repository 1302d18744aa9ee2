"""Browser: an admin puts three accepted deals to the members, members approve them, the
admin closes the ballot and the published outcome (Equal Shares) shows, recounts, and is
in the books.

Eleven approvals go through the service (a browser per member would be slow); the member
in the browser casts the twelfth.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from allocation import deal_recount
from market.db import utcnow
from market.dealballots import services
from market.dealballots.models import DealBallot
from market.deals.models import Deal
from market.ledger.services import balance, channel_code, vendor_code
from market.webdb import database
from tests.catalog.factories import make_channel
from tests.market.dealballots.factories import accepted_deals
from tests.market.deals.factories import fund_channel
from tests.market.factories import PASSWORD, make_member
from tests.support import LiveServer


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


def test_deal_ballot_from_admin_page_to_published_outcome(
    page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    base = live_server.url
    db = database(live_server.app)
    with db.transaction() as s:
        admin = make_member(s, admin=True, email="alex@example.com", display_name="Alex Admin")
        make_member(s, email="nia@example.com", display_name="Nia Okafor")
        channel = make_channel(s, name="Safe & Private")
        fund_channel(s, channel, 15_000)
        # $54.00, $90.00 and $105.00 a month.
        small, mid, big = accepted_deals(s, admin, channel, [60, 100, 150])
        ids = {"channel": channel.id, "small": small.id, "mid": mid.id, "big": big.id}
        others = [make_member(s).id for _ in range(11)]

    # The admin puts the three deals to the members with the channel's whole balance.
    _log_in(page, base, "alex@example.com")
    page.goto(base + "/admin/")
    page.locator("a.admin-link", has_text="Deal ballots").click()
    page.get_by_label("Channel").select_option(label="Safe & Private")
    page.get_by_role("button", name="Show its deals").click()
    page.get_by_label("Title").fill("What Safe & Private buys next")
    closes = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Closes at (UTC)").fill(closes)
    page.get_by_role("button", name="Open the ballot").click()
    page.get_by_text("is open to the members").wait_for()
    ballot_url = page.url
    page.get_by_role("button", name="Log out").click()

    with db.transaction() as s:
        ballot_id = s.query(DealBallot.id).one()[0]
        for n, mid_id in enumerate(others):
            member = s.get(type(admin), mid_id)
            assert member is not None
            approvals = (
                [ids["big"]] if n < 6 else [ids["big"], ids["mid"]] if n < 9 else [ids["small"]]
            )
            services.cast_approvals(s, member, ballot_id, approvals)

    # A member approves the small deal only.
    _log_in(page, base, "nia@example.com")
    page.get_by_role("link", name="Deal ballots").first.click()
    page.get_by_role("link", name="What Safe & Private buys next").click()
    page.get_by_label("Deal for 60 seats — $54.00 a month").check()
    page.get_by_role("button", name="Save my approvals").click()
    page.get_by_text("Your approvals are saved").wait_for()
    page.get_by_role("button", name="Log out").click()

    # The admin closes early; the outcome is published.
    _log_in(page, base, "alex@example.com")
    page.goto(base + "/admin/deal-ballots/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Close and publish now").click()
    page.get_by_text("Closed and published").wait_for()
    assert page.url == ballot_url
    page.get_by_text("what the members chose").wait_for()
    body = page.locator("table.deal-results").inner_text()
    assert "Deal for 150 seats" in body and "Funded: 9 member(s) approved it" in body
    page.screenshot(path=str(tmp_path / "deal-ballot-results.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the approvals (CSV)").click()
    saved = tmp_path / "deal-ballot.csv"
    download.value.save_as(saved)
    again = deal_recount.recount(saved)
    assert again.matches and again.outcome.funded == [str(ids["big"])]
    with db.transaction() as s:
        assert s.get(Deal, ids["big"]).status == "active"  # type: ignore[union-attr]
        assert s.get(Deal, ids["small"]).status == "withdrawn"  # type: ignore[union-attr]
        assert balance(s, channel_code(ids["channel"])) == 15_000 - 10_500
        assert balance(s, vendor_code(big.vendor_id)) == 10_500
