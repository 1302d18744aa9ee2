"""Browser: the vote's sliders can keep the total at 100 %, and "Balance the rest" fills it."""

from __future__ import annotations

from typing import Any

from market.webdb import database
from tests.allocation.factories import open_round
from tests.e2e.test_rounds_browser import _log_in
from tests.market.factories import make_member
from tests.support import LiveServer


def test_sliders_keep_the_total_at_100(page: Any, live_server: LiveServer) -> None:
    base = live_server.url
    with database(live_server.app).transaction() as s:
        nia = make_member(s, email="nia@example.com")
        open_round(s, channels=["Alpha", "Beta", "Gamma", "Delta"])
        email = nia.email
    _log_in(page, base, email)
    page.goto(base + "/rounds/vote")
    page.get_by_label("Keep the total at 100 %").check()
    page.get_by_label("Alpha slider").fill("40")
    values = [page.get_by_label(n, exact=True).input_value() for n in ("Beta", "Gamma", "Delta")]
    assert values == ["20", "20", "20"]
    assert page.locator("#split-total").inner_text() == "100"
    page.get_by_label("Keep the total at 100 %").uncheck()
    page.get_by_label("Alpha", exact=True).fill("33.33")
    page.get_by_label("Beta", exact=True).fill("0")
    page.get_by_label("Gamma", exact=True).fill("0")
    page.get_by_label("Delta", exact=True).fill("0")
    page.get_by_label("Alpha", exact=True).fill("33.33")
    page.get_by_role("button", name="Balance the rest").click()
    assert page.locator("#split-total").inner_text() == "100"
    others = [page.get_by_label(n, exact=True).input_value() for n in ("Beta", "Gamma", "Delta")]
    assert others == ["22.23", "22.22", "22.22"]  # exact hundredths, largest remainder
    page.get_by_role("button", name="Save my split").click()
    assert "Your split is saved" in page.locator(".flash.success").inner_text()
