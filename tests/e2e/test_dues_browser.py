"""Browser: sign up, pay the first dues on localstripe's card form, see it in the Books."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from bench import fakestripe
from market.billing.models import StripeEvent
from market.webdb import database
from tests import support


def _wait_for_webhook(server: support.LiveServer, timeout: float = 10) -> list[str]:
    """localstripe delivers its events about a second later; wait until they are in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database(server.app).transaction() as session:
            types = list(
                session.scalars(select(StripeEvent.type).where(StripeEvent.status == "processed"))
            )
        if "invoice.payment_succeeded" in types:
            return types
        time.sleep(0.2)
    return []


def test_sign_up_pay_and_see_the_books(
    page: Any, live_database: str, localstripe: str, tmp_path: Path
) -> None:
    with support.threaded_server(live_database, STRIPE_API_BASE=localstripe) as server:
        base = server.url
        fakestripe.register_webhook(
            localstripe, "e2e", base + "/billing/stripe/webhook", support.WEBHOOK_SECRET
        )
        page.goto(base + "/signup")
        page.get_by_label("Email").fill("nia@example.com")
        page.get_by_label("Display name").fill("Nia Okafor")
        page.get_by_label("Password").fill("a long enough password")
        page.get_by_role("button", name="Create my account").click()
        page.wait_for_url(base + "/login")
        page.get_by_label("Email").fill("nia@example.com")
        page.get_by_label("Password").fill("a long enough password")
        page.get_by_role("button", name="Log in").click()
        # Once in, the next step is one obvious button.
        page.get_by_role("link", name="Pay my dues").click()
        expect(page.get_by_text("pending").first).to_be_visible()
        page.get_by_role("button", name="Pay my dues by card").click()

        page.wait_for_url(base + "/dues/pay")
        card = page.locator("#card-element")
        # As people type it, with spaces; every field has a label.
        card.get_by_label("Card number").fill("4242 4242 4242 4242")
        card.get_by_label("Expiry month").fill("12")
        card.get_by_label("Expiry year").fill("30")
        card.get_by_label("CVC").fill("123")
        card.get_by_label("Postal code").fill("10001")
        page.screenshot(path=str(tmp_path / "card-form.png"), full_page=True)
        page.get_by_role("button", name="Pay $5.00 a month").click()

        page.wait_for_url(base + "/dues")
        expect(page.get_by_text("you are an active member")).to_be_visible()
        expect(page.locator(".status-active").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "my-dues.png"), full_page=True)

        month = datetime.now(UTC).strftime("%Y-%m")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Books").click()
        row = page.get_by_role("row", name=month)
        assert row.get_by_role("cell").nth(0).inner_text() == "$5.00"
        assert row.get_by_role("cell").nth(1).inner_text() == "1"
        assert row.get_by_role("cell").nth(2).inner_text() == "$4.50"
        assert row.get_by_role("cell").nth(3).inner_text() == "$0.50"
        page.screenshot(path=str(tmp_path / "books.png"), full_page=True)
        # Stripe's own webhooks arrive afterwards and change nothing more.
        assert "invoice.payment_succeeded" in _wait_for_webhook(server)
        page.reload()
        assert (
            page.get_by_role("row", name=month).get_by_role("cell").nth(0).inner_text() == "$5.00"
        )
