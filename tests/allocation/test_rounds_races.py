"""Real concurrency against a real server: two tabs of one member, ballots racing the close."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import requests
from sqlalchemy import func, select

from allocation.closing import close_and_publish
from allocation.models import Ballot, Round
from market.webdb import database
from tests.allocation.factories import fund_pool, open_round
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


def _vote_data(
    web: requests.Session, base: str, round_id: int, shares: dict[int, str]
) -> dict[str, str]:
    page = web.get(base + "/rounds/vote").text
    token = TOKEN.search(page) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page
    )
    assert token is not None, page
    return {
        "csrf_token": token.group(1),
        "round_id": str(round_id),
        "action": "vote",
        **{f"share-{cid}": v for cid, v in shares.items()},
    }


def _setup(server: LiveServer, voters: int) -> tuple[int, list[int], list[str]]:
    with database(server.app).transaction() as s:
        members = [make_member(s) for _ in range(voters)]
        rnd, chans = open_round(s, channels=2)
        fund_pool(s, rnd.period, 10_000)
        return rnd.id, [c.id for c in chans], [m.email for m in members]


def test_two_tabs_of_one_member_leave_one_current_ballot(live_server: LiveServer) -> None:
    base = live_server.url
    round_id, chans, [email] = _setup(live_server, 1)
    web = _logged_in(base, email)
    forms = [
        _vote_data(web, base, round_id, {chans[0]: str(p), chans[1]: str(100 - p)})
        for p in range(10, 90, 10)
    ]
    statuses: list[int] = []
    barrier = threading.Barrier(len(forms))

    def tab(data: dict[str, str]) -> None:
        barrier.wait()
        statuses.append(
            web.post(f"{base}/rounds/{round_id}/vote", data=data, allow_redirects=False).status_code
        )

    threads = [threading.Thread(target=tab, args=(f,)) for f in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [302] * len(forms)
    with database(live_server.app).transaction() as s:
        total = s.scalar(select(func.count()).select_from(Ballot))
        current = s.scalar(select(func.count()).select_from(Ballot).where(Ballot.is_current))
    assert (total, current) == (len(forms), 1)


def test_ballots_racing_the_close_land_before_it_or_are_refused(
    live_server: LiveServer, tmp_path: Path
) -> None:
    base = live_server.url
    round_id, chans, emails = _setup(live_server, 8)
    sessions = [_logged_in(base, e) for e in emails]
    forms = [_vote_data(w, base, round_id, {chans[0]: "60", chans[1]: "40"}) for w in sessions]
    accepted: list[int] = []
    refused: list[int] = []
    barrier = threading.Barrier(len(sessions) + 1)

    def voter(web: requests.Session, data: dict[str, str]) -> None:
        barrier.wait()
        code = web.post(
            f"{base}/rounds/{round_id}/vote", data=data, allow_redirects=False
        ).status_code
        (accepted if code == 302 else refused).append(code)

    threads = [
        threading.Thread(target=voter, args=pair) for pair in zip(sessions, forms, strict=True)
    ]
    for t in threads:
        t.start()
    barrier.wait()
    report = close_and_publish(database(live_server.app), round_id)
    for t in threads:
        t.join(30)
    assert set(refused) <= {409}
    assert len(accepted) + len(refused) == 8
    with database(live_server.app).transaction() as s:
        rnd = s.get(Round, round_id)
        assert rnd is not None and rnd.status == "published"
        in_db = s.scalar(
            select(func.count()).select_from(Ballot).where(Ballot.round_id == round_id)
        )
    # Every accepted ballot was counted; no refused ballot was written.
    assert report.ballots == len(accepted) == in_db
