"""Real concurrency against a real server: approvals racing the close of a deal ballot."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import requests
from sqlalchemy import func, select

from market.db import utcnow
from market.dealballots.closing import close_ballot
from market.dealballots.models import DealBallot, DealBallotVote
from market.webdb import database
from tests.catalog.factories import make_channel
from tests.market.dealballots.factories import accepted_deals, open_ballot
from tests.market.deals.factories import fund_channel
from tests.market.factories import PASSWORD, make_member
from tests.support import LiveServer

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _logged_in(base: str, email: str) -> requests.Session:
    web = requests.Session()
    token = TOKEN.search(web.get(base + "/login").text)
    assert token is not None
    resp = web.post(
        base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert resp.status_code == 200, resp.text
    return web


def test_approvals_racing_the_close_land_before_it_or_are_refused(
    live_server: LiveServer, tmp_path: Path
) -> None:
    base = live_server.url
    db = database(live_server.app)
    with db.transaction() as s:
        admin = make_member(s, admin=True)
        channel = make_channel(s)
        fund_channel(s, channel, 20_000)
        deals = accepted_deals(s, admin, channel, [60, 100])
        ballot_id = open_ballot(s, channel, deals, admin=admin).id
        deal_id = deals[0].id
        emails = [make_member(s).email for _ in range(8)]
    webs = [_logged_in(base, e) for e in emails]
    forms = []
    for web in webs:
        page = web.get(f"{base}/deal-ballots/{ballot_id}").text
        token = TOKEN.search(page) or re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None, page
        forms.append({"csrf_token": token.group(1), "deal": str(deal_id)})
    accepted: list[int] = []
    refused: list[int] = []
    barrier = threading.Barrier(len(webs) + 1)

    def voter(web: requests.Session, data: dict[str, str]) -> None:
        barrier.wait()
        code = web.post(
            f"{base}/deal-ballots/{ballot_id}/approve", data=data, allow_redirects=False
        ).status_code
        (accepted if code == 302 else refused).append(code)

    threads = [threading.Thread(target=voter, args=p) for p in zip(webs, forms, strict=True)]
    for t in threads:
        t.start()
    barrier.wait()
    with db.transaction() as s:
        report = close_ballot(s, ballot_id, currency="usd", now=utcnow(), early=True)
    for t in threads:
        t.join(30)
    assert set(refused) <= {409}, refused
    assert len(accepted) + len(refused) == 8
    with db.transaction() as s:
        ballot = s.get(DealBallot, ballot_id)
        assert ballot is not None and ballot.status == "published"
        in_db = s.scalar(
            select(func.count())
            .select_from(DealBallotVote)
            .where(DealBallotVote.ballot_id == ballot_id)
        )
    # Every accepted approval was counted; no refused one was written.
    assert report.ballots == len(accepted) == in_db
