"""Browser: every member and public page fits a phone (390×844) without scrolling sideways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from allocation.models import Round, RoundStatus
from market import demo
from market.dealballots.models import DealBallot
from market.deals.models import Deal
from market.proposals.models import Proposal
from market.webdb import database
from tests.support import LiveServer

SHOTS = Path(__file__).resolve().parent.parent.parent / "instance" / "screenshots" / "phone"
PUBLIC = [
    "/",
    "/catalogue",
    "/books",
    "/books/transactions",
    "/reserve/",
    "/rounds/",
    "/login",
    "/signup",
    "/api/v1/docs",
]
MEMBER = [
    "/",
    "/catalogue",
    "/books",
    "/books/transactions",
    "/rounds/",
    "/rounds/vote",
    "/rounds/my-dues",
    "/rounds/my-receipts",
    "/dues",
    "/dues/cancel",
    "/licences",
    "/deals/",
    "/deals/wanted",
    "/deal-ballots/",
    "/decisions/",
    "/decisions/new",
    "/reserve/",
    "/reserve/spend",
    "/inbox/",
    "/inbox/settings",
    "/profile",
]


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    # Not is_mobile: a mobile viewport zooms out to fit a too-wide page, hiding the overflow.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _demo_pages(server: LiveServer) -> list[str]:
    """The demo's pages that need an id: a product, a published round, a deal, a decision."""
    with server.app.app_context():
        demo.load(server.app)
    with database(server.app).transaction() as s:
        rnd = s.scalar(select(Round.id).where(Round.status == RoundStatus.PUBLISHED))
        deal = s.scalar(select(Deal.id))
        proposal = s.scalar(select(Proposal.id))
        ballot = s.scalar(select(DealBallot.id))
    return [
        "/catalogue/1",
        f"/rounds/{rnd}/results",
        f"/rounds/{rnd}/receipt?r={'0' * 64}",
        f"/deals/{deal}",
        f"/decisions/{proposal}",
        f"/deal-ballots/{ballot}",
    ]


def _too_wide(page: Any, base: str, paths: list[str], who: str) -> list[str]:
    wide = []
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in paths:
        response = page.goto(base + path)
        assert response.status < 500, path
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        name = who + path.replace("/", "_").split("?")[0]
        page.screenshot(path=str(SHOTS / f"{name or who}.png"), full_page=True)
        if width[0] > width[1]:
            wide.append(f"{path}: {width[0]} px wide on a {width[1]} px screen")
    return wide


def test_no_page_scrolls_sideways_on_a_phone(phone: Any, live_server: LiveServer) -> None:
    base = live_server.url
    with_ids = _demo_pages(live_server)
    wide = _too_wide(phone, base, PUBLIC + with_ids[:3], "public")
    phone.goto(base + "/login")
    phone.get_by_label("Email").fill(demo.NIA_EMAIL)
    phone.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    phone.get_by_role("button", name="Log in").click()
    wide += _too_wide(phone, base, MEMBER + with_ids, "member")
    assert wide == []


def test_the_menu_opens_without_javascript(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    catalogue = page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalogue")
    expect(catalogue).to_be_hidden()
    page.get_by_text("Menu").click()
    expect(catalogue).to_be_visible()
    context.close()
