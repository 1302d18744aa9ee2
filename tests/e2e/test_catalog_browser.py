"""Browser: a member in good standing browses, claims a key, finds it, releases another claim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from catalog import claims
from catalog.models import Claim, LicenceKey
from market.webdb import database
from tests.catalog.factories import make_channel, make_product, make_vendor
from tests.market.factories import PASSWORD, make_member
from tests.support import LiveServer


def _stock_the_shelf(server: LiveServer) -> tuple[str, str]:
    """Nia (active), a password manager with keys, and a VPN she already holds."""
    with database(server.app).transaction() as session:
        nia = make_member(session, email="nia@example.com", display_name="Nia Okafor")
        safe = make_channel(session, name="Safe & Private")
        vendor = make_vendor(session, name="Vaultly", share_bp=900)
        make_product(
            session,
            name="Vaultly Password Manager",
            category="password manager",
            vendor=vendor,
            channel=safe,
            keys=5,
            terms="One device per member.",
        )
        vpn = make_product(session, name="Tunnelwise VPN", category="vpn", channel=safe, keys=5)
        make_product(
            session,
            name="Pixel Studio",
            category="photo",
            kind="link",
            redemption_url="https://pixel.example.com/{token}",
        )
        claims.claim(session, nia, vpn.id)
    return "nia@example.com", PASSWORD


def test_member_claims_a_key_and_releases_a_licence(
    page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    email, password = _stock_the_shelf(live_server)
    base = live_server.url
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Catalogue", exact=True).click()
    page.get_by_role("link", name="Safe & Private").click()
    expect(page.get_by_text("Pixel Studio")).to_be_hidden()  # another channel
    page.get_by_label("Search by name").fill("vaultly")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name="Vaultly Password Manager").click()
    expect(page.get_by_text("5 left")).to_be_visible()
    expect(page.get_by_text("One device per member.")).to_be_visible()
    page.get_by_role("button", name="Claim my licence").click()

    expect(page.get_by_text("Claimed. Your licence is below.")).to_be_visible()
    expect(page.get_by_role("heading", name="My licences")).to_be_visible()
    with database(live_server.app).transaction() as session:
        key = session.scalar(
            select(LicenceKey.value)
            .join(Claim, Claim.licence_key_id == LicenceKey.id)
            .where(LicenceKey.value.like("KEY-%"), Claim.released_at.is_(None))
            .order_by(Claim.id.desc())
        )
    assert key
    expect(page.get_by_text(key)).to_be_visible()

    page.get_by_role("button", name="Release Tunnelwise VPN").click()
    expect(page.get_by_text("Released Tunnelwise VPN.")).to_be_visible()
    expect(page.get_by_role("heading", name="Tunnelwise VPN")).to_be_hidden()
    expect(page.get_by_role("heading", name="Vaultly Password Manager")).to_be_visible()
    shot = tmp_path / "my-licences.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
