"""Browser: a comment thread on a proposal — post, reply, a refused script, edit, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from market.webdb import database
from tests.market.factories import PASSWORD, make_member, make_proposal
from tests.support import LiveServer


def _log_in(page: Any, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


def test_a_comment_thread(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    base = live_server.url
    with database(live_server.app).transaction() as session:
        ada = make_member(session, email="ada@example.com", display_name="Ada")
        make_member(session, email="ben@example.com", display_name="Ben")
        proposal_id = make_proposal(session, ada, title="Talk about support").id
    _log_in(page, base, "ada@example.com")
    page.goto(f"{base}/decisions/{proposal_id}")
    page.get_by_label("Comment", exact=True).fill("Should we fund **support** from the reserve?")
    page.get_by_role("button", name="Post comment").click()
    page.get_by_text("Your comment is posted.").wait_for()
    expect(page.locator(".comment strong", has_text="support")).to_be_visible()
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Comment", exact=True).fill(
        "Should we fund *support* from the reserve first?"
    )
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your comment is changed.").wait_for()
    expect(page.get_by_text("edited")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    _log_in(page, base, "ben@example.com")
    page.goto(f"{base}/decisions/{proposal_id}")
    page.get_by_label("Comment", exact=True).fill("<script>alert(1)</script>")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Comments cannot carry HTML scripts")).to_be_visible()
    page.goto(f"{base}/decisions/{proposal_id}")
    page.locator(".comment summary", has_text="Reply").click()
    page.get_by_label("Your reply").fill("Yes, for six months.")
    page.get_by_role("button", name="Reply", exact=True).click()
    page.get_by_text("Your comment is posted.").wait_for()
    reply = page.locator(".comment.depth-1")
    assert "Yes, for six months." in reply.inner_text() and "Ben" in reply.inner_text()
    reply.get_by_role("button", name="Delete").click()
    page.get_by_text("The comment is deleted.").wait_for()
    assert page.locator(".comment.deleted").inner_text().strip() == "[deleted]"
    assert "Discussion (1)" in page.locator("#discussion-h").inner_text()
    page.screenshot(path=str(tmp_path / "thread.png"), full_page=True)
