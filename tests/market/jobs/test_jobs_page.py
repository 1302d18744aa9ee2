"""The admin Jobs page: last run, outcome, duration, next run, failures, run now."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.jobs import definitions
from market.jobs.models import JobRun
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def test_admins_see_every_job_and_members_do_not(session: Session, login: Login) -> None:
    member = make_member(session)
    admin = make_member(session, admin=True)
    session.commit()
    assert login(member).get("/admin/jobs/").status_code == 403
    page = login(admin).get("/admin/jobs/").get_data(as_text=True)
    for job in definitions.JOBS.values():
        assert str(escape(job.label)) in page
    assert "never" in page and "Run now" in page


def test_run_now_runs_the_job_and_the_page_shows_its_outcome(
    session: Session, login: Login
) -> None:
    admin = make_member(session, admin=True)
    session.commit()
    client = login(admin)
    resp = client.post("/admin/jobs/dues.lapse/run")
    assert resp.status_code == 302
    session.expire_all()
    [run] = session.scalars(select(JobRun).where(JobRun.job == "dues.lapse")).all()
    assert run.status == "succeeded" and run.trigger == "manual" and run.duration_ms is not None
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert "Lapsed 0 member(s)" in page and "succeeded" in page
    assert client.post("/admin/jobs/no.such/run").status_code == 404


def test_failures_are_listed_with_their_message(
    session: Session, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_args: object) -> str:
        raise RuntimeError("replay went wrong")

    job = dataclasses.replace(definitions.JOBS["dues.replay"], run=boom, max_attempts=1)
    monkeypatch.setitem(definitions.JOBS, "dues.replay", job)
    admin = make_member(session, admin=True)
    session.commit()
    client = login(admin)
    client.post("/admin/jobs/dues.replay/run")
    page = client.get("/admin/jobs/").get_data(as_text=True)
    assert "failed" in page and "replay went wrong" in page


def test_run_now_needs_the_csrf_token(make_app: Callable[..., Flask], session: Session) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    admin = make_member(session, admin=True)
    session.commit()
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = str(admin.id)
        s["_fresh"] = True
    assert client.post("/admin/jobs/dues.lapse/run").status_code == 400
    session.expire_all()
    assert session.scalars(select(JobRun)).all() == []
