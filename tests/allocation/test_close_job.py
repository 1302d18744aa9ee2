"""The admin's "Close and publish" goes through the close job, with a progress bar."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation.models import Round
from market.db import utcnow
from market.jobs import schedule
from market.jobs.models import JobRun
from tests.allocation.factories import fund_pool, open_round, vote
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _round(session: Session) -> Round:
    voter = make_member(session)
    rnd, chans = open_round(session, channels=2)
    vote(session, voter, rnd, {chans[0].id: 6000, chans[1].id: 4000})
    fund_pool(session, rnd.period, 9_000)
    session.commit()
    return rnd


def test_closing_early_asks_first_naming_the_announced_time(session: Session, login: Login) -> None:
    rnd = _round(session)
    admin = make_member(session, admin=True)
    session.commit()
    page = login(admin).post(f"/admin/rounds/{rnd.id}/close")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and rnd.closes_at.strftime("%d %B %Y at %H:%M UTC") in text
    assert 'name="confirm" value="early"' in text
    session.expire_all()
    assert session.get(Round, rnd.id).status == "open"  # type: ignore[union-attr]
    assert session.scalars(select(JobRun)).all() == []


def test_confirmed_close_runs_the_job_and_publishes(session: Session, login: Login) -> None:
    rnd = _round(session)
    admin = make_member(session, admin=True)
    session.commit()
    client = login(admin)
    resp = client.post(f"/admin/rounds/{rnd.id}/close", data={"confirm": "early"})
    assert resp.status_code == 302 and f"/rounds/{rnd.id}/results" in resp.headers["Location"]
    session.expire_all()
    [run] = session.scalars(select(JobRun).where(JobRun.job == "rounds.close")).all()
    assert run.target_id == rnd.id and run.trigger == "manual" and run.status == "succeeded"
    assert session.get(Round, rnd.id).status == "published"  # type: ignore[union-attr]
    state = client.get(f"/admin/rounds/{rnd.id}/close/progress.json").get_json()
    assert state["done"] and state["percent"] == 100 and state["phase"] == "publish"


def test_a_close_under_way_shows_a_progress_bar_that_updates_itself(
    session: Session, login: Login
) -> None:
    rnd = _round(session)
    admin = make_member(session, admin=True)
    run = schedule.request_run(session, "rounds.close", rnd.id, utcnow())
    session.commit()
    client = login(admin)
    page = client.get(f"/admin/rounds/{rnd.id}")
    html = page.get_data(as_text=True)
    assert "<progress" in html and "Waiting for a worker" in html
    assert "close_progress.js" in html and "<script>" not in html  # no inline script (CSP)
    assert '<noscript><meta http-equiv="refresh"' in html  # reloads itself without JS
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get(f"/admin/rounds/{rnd.id}/close/progress.json").get_json()["phase"] == "queued"

    run.phase, run.status = "tally", "running"
    session.commit()
    state = client.get(f"/admin/rounds/{rnd.id}/close/progress.json").get_json()
    assert state["phase"] == "tally" and 0 < state["percent"] < 100 and not state["done"]
    percents = []
    for phase in ("book", "audit", "publish"):
        run.phase = phase
        session.commit()
        state = client.get(f"/admin/rounds/{rnd.id}/close/progress.json").get_json()
        assert state["phase"] == phase and not state["done"]
        percents.append(state["percent"])
        html = client.get(f"/admin/rounds/{rnd.id}").get_data(as_text=True)
        # The audit file is its own step on the bar, not folded into booking.
        assert f'<li data-phase="{phase}" aria-current="step">' in html
        assert html.count('aria-current="step"') == 1
    assert percents == sorted(percents) and len(set(percents)) == 3
    with client.get("/static/close_progress.js") as script:
        assert script.status_code == 200
