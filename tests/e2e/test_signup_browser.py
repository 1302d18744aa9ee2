"""Browser: a newcomer signs up, logs in, logs out and logs back in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    assert page.get_by_text("check your inbox").is_visible()
    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Welcome back, Nia Okafor.").is_visible()
    assert page.get_by_role("link", name="Nia Okafor").is_visible()

    page.get_by_role("button", name="Log out").click()
    assert page.get_by_text("You are logged out.").is_visible()

    page.get_by_role("link", name="Log in", exact=True).click()
    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Email or password is not right.").is_visible()
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("Welcome back, Nia Okafor.").is_visible()
    page.screenshot(path=str(tmp_path / "signed-in.png"), full_page=True)
    assert (tmp_path / "signed-in.png").stat().st_size > 0
