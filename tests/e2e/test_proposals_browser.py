"""Browser: a member proposes, two agree, one blocks with a reason, the author writes the outcome.

The proposal is "closed" by moving its closes_at into the past in the database: the test
does not wait an hour for the clock.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select, update

from market.db import utcnow
from market.proposals.models import Proposal
from market.webdb import database
from tests.market.factories import PASSWORD, make_member
from tests.support import LiveServer


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


def _log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    page.get_by_text("You are logged out.").wait_for()


def _take_position(page: Any, base: str, email: str, title: str, stance: str, reason: str) -> None:
    _log_in(page, base, email)
    page.get_by_role("link", name="Decisions").click()
    page.get_by_role("link", name=title).click()
    page.get_by_label(stance, exact=True).check()
    page.get_by_label("Reason", exact=True).fill(reason)
    page.get_by_role("button", name="Save my position").click()


def test_propose_vote_block_and_outcome(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    base = live_server.url
    people = ["ada", "ben", "cleo", "dev"]
    with database(live_server.app).transaction() as session:
        for name in people:
            make_member(session, email=f"{name}@example.com", display_name=name.title())

    title = "Raise the operations share to 12 %"
    _log_in(page, base, "ada@example.com")
    page.get_by_role("link", name="Decisions").click()
    page.get_by_role("link", name="Start a proposal").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Proposal", exact=True).fill(
        "To fund **member support**.\n\n<script>alert(1)</script>"
    )
    closes = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Closes at (UTC)").fill(closes)
    page.get_by_role("button", name="Open the proposal").click()
    page.get_by_text("Your proposal is open for positions.").wait_for()
    expect(page.locator("article strong", has_text="member support")).to_be_visible()
    _log_out(page)

    _take_position(page, base, "ben@example.com", title, "Agree", "")
    _log_out(page)
    _take_position(page, base, "cleo@example.com", title, "Agree", "Support matters")
    _log_out(page)

    # A block with no reason is refused, with the explanation of what a block means.
    _take_position(page, base, "dev@example.com", title, "Block", "")
    expect(page.get_by_text("A block needs a reason.")).to_be_visible()
    page.get_by_label("Block", exact=True).check()
    page.get_by_label("Reason", exact=True).fill("The reserve already covers a year")
    page.get_by_role("button", name="Save my position").click()
    page.get_by_text("Your position is saved: Block.").wait_for()

    results = page.locator("table.counts")
    assert results.locator("tr:has(.stance-agree) td.num").inner_text() == "2"
    assert results.locator("tr:has(.stance-block) td.num").inner_text() == "1"
    expect(page.get_by_role("cell", name="The reserve already covers a year")).to_be_visible()
    assert "3 of 4" in page.locator(".turnout").inner_text()
    page.screenshot(path=str(tmp_path / "results-open.png"), full_page=True)
    _log_out(page)

    with database(live_server.app).transaction() as session:
        proposal_id = session.scalar(select(Proposal.id).where(Proposal.title == title))
        session.execute(
            update(Proposal)
            .where(Proposal.id == proposal_id)
            .values(closes_at=utcnow() - timedelta(minutes=1))
        )

    _log_in(page, base, "ada@example.com")
    page.goto(f"{base}/decisions/{proposal_id}")
    expect(page.get_by_text("Flagged for discussion:")).to_be_visible()
    page.get_by_role("link", name="Write the outcome").click()
    page.get_by_label("Outcome").fill(
        "Not adopted: Dev's block stands. We discuss the reserve at the next meeting."
    )
    page.get_by_role("button", name="Publish the outcome").click()
    page.get_by_text("The outcome is published").wait_for()
    expect(page.get_by_text("Not adopted: Dev's block stands.")).to_be_visible()
    shot = Path(__file__).resolve().parents[2] / "instance" / "proposal-results.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
