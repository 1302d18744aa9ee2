"""Browser: a newcomer signs up, logs in, logs out and logs back in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support import LiveServer


def test_sign_up_log_out_log_in(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    base = live_server.url
    page.goto(base + "/")
    page.get_by_role("link", name="Join", exact=True).click()
    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Display name").fill("Nia Okafor")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url(base + "/login")
    expect(page.get_by_text("check your inbox")).to_be_visible()
    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Welcome back, Nia Okafor.")).to_be_visible()
    expect(page.get_by_role("link", name="Nia Okafor")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()

    page.get_by_role("link", name="Log in", exact=True).click()
    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Email or password is not right.")).to_be_visible()
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Welcome back, Nia Okafor.")).to_be_visible()
    page.screenshot(path=str(tmp_path / "signed-in.png"), full_page=True)
    assert (tmp_path / "signed-in.png").stat().st_size > 0
