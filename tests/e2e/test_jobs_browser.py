"""Browser, as `make run` has it (no Redis): the admin closes a round from its page, a real
worker on the embedded broker runs the close, and the progress bar opens the results."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from market.webdb import database
from tests import support
from tests.allocation.factories import fund_pool, open_round, vote
from tests.e2e.test_rounds_browser import _log_in
from tests.market.factories import make_member
from tests.market.jobs import workers


@pytest.mark.backends("sqlite")  # the embedded broker is the SQLite setup of make run
def test_admin_closes_a_round_through_a_worker_and_watches_it_publish(
    page: Any, live_database: str, backend: str, tmp_path: Path
) -> None:
    settings = workers.settings(
        live_database, workers.broker("embedded", tmp_path), uuid.uuid4().hex, tmp_path
    )
    served = {k: v for k, v in settings.items() if k != "DATABASE_URL"}
    with (
        support.threaded_server(live_database, CELERY_ALWAYS_EAGER=False, **served) as server,
        workers.worker(settings, "browser", tmp_path),
    ):
        with database(server.app).transaction() as s:
            make_member(s, email="admin@example.com", admin=True)
            voter = make_member(s)
            rnd, chans = open_round(s, channels=2)
            vote(s, voter, rnd, {chans[0].id: 7000, chans[1].id: 3000})
            fund_pool(s, rnd.period, 20_000)
            rid, closes = rnd.id, rnd.closes_at

        _log_in(page, server.url, "admin@example.com")
        page.goto(f"{server.url}/admin/rounds/{rid}")
        page.get_by_role("button", name="Close and publish").click()
        expect(page.get_by_text(closes.strftime("%d %B %Y at %H:%M UTC"))).to_be_visible()
        page.get_by_role("button", name="Close now, before").click()
        expect(page.locator("#job-progress progress")).to_have_count(1)
        page.wait_for_url(f"**/rounds/{rid}/results", timeout=90_000)
        expect(page.locator("svg rect.bar-outcome")).to_have_count(2)
        database(server.app).engine.dispose()
