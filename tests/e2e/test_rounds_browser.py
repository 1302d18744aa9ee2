"""Browser: Nia splits 50/30/20 with the sliders, gets a receipt; an admin closes the round;
Nia sees the results chart and where her dues went; the published file recounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from allocation import recount
from market.webdb import database
from tests.allocation.factories import fund_pool, open_round, pay_dues
from tests.market.factories import PASSWORD, make_member
from tests.support import LiveServer

SHOTS = Path(__file__).resolve().parent.parent.parent / "instance" / "screenshots"


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_vote_close_results_and_recount(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    base = live_server.url
    with database(live_server.app).transaction() as s:
        nia = make_member(s, email="nia@example.com", display_name="Nia Okafor")
        make_member(s, email="admin@example.com", display_name="Alex Admin", admin=True)
        rnd, chans = open_round(
            s, channels=["Safe & Private", "Know More", "Make Things", "Build Software"]
        )
        for c, text in zip(
            chans,
            [
                "Password manager, VPN, encrypted mail.",
                "Independent news and reference.",
                "Photo and vector editors, audio tools.",
                "Code hosting, CI minutes, an IDE.",
            ],
            strict=True,
        ):
            c.description = text
        fund_pool(s, rnd.period, 135_000 - 450)  # plus her own dues below: $1,350.00
        pay_dues(s, nia, rnd.period)
        rid, nia_email = rnd.id, nia.email

    _log_in(page, base, nia_email)
    page.get_by_role("link", name="Vote").click()
    expect(page.get_by_text("$1,350.00")).to_be_visible()
    for name, pct in [
        ("Safe & Private", "50"),
        ("Know More", "30"),
        ("Make Things", "20"),
        ("Build Software", "0"),
    ]:
        page.get_by_label(f"{name} slider").fill(pct)
    assert page.locator("#split-total").inner_text() == "100"
    assert page.get_by_label("Know More", exact=True).input_value() == "30"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "rounds-vote.png"), full_page=True)
    page.get_by_role("button", name="Save my split").click()
    flash = page.locator(".flash.success").inner_text()
    assert "Receipt:" in flash
    receipt = flash.split("Receipt: ")[1].split(" ")[0]
    assert len(receipt) == 64
    page.screenshot(path=str(SHOTS / "rounds-voted.png"), full_page=True)
    page.get_by_role("button", name="Log out").click()

    _log_in(page, base, "admin@example.com")
    page.goto(f"{base}/admin/rounds/{rid}")
    page.get_by_role("button", name="Close and publish").click()
    page.get_by_role("button", name="Close now, before").click()  # it closes early: confirm
    expect(page.get_by_text("Round closed and published")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    _log_in(page, base, nia_email)
    page.goto(f"{base}/rounds/{rid}/results")
    expect(page.locator("svg rect.bar-outcome")).to_have_count(4)
    only_nia = page.get_by_role("cell", name="$675.00", exact=True)  # only Nia voted: 50 %
    expect(only_nia).to_be_visible()
    page.screenshot(path=str(SHOTS / "rounds-results.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the ballots (CSV)").click()
    path = tmp_path / "audit.csv"
    download.value.save_as(path)
    assert receipt in path.read_text()
    assert recount.recount(path).matches

    page.get_by_role("link", name="My dues").click()
    page.get_by_role("link", name="Where my dues went").click()
    part = page.locator(".trail-parts").get_by_role("cell", name="$2.25", exact=True)
    expect(part).to_be_visible()  # 50 % of her $4.50
    page.screenshot(path=str(SHOTS / "rounds-my-dues.png"), full_page=True)
