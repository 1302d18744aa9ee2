"""The schedule: each due slot is run once, closes and opens follow the month, catch-up."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation import rounds
from allocation.models import Round
from market import trace
from market.clock import month_start, next_period, period_of
from market.db import utcnow
from market.jobs import definitions, schedule
from market.jobs.models import JobRun
from market.ledger.models import LedgerTransaction
from market.members.models import Member
from market.webdb import database
from tests.allocation.factories import fund_pool, open_round, vote
from tests.market.factories import make_member


@pytest.fixture
def app(make_app, tmp_path: Path) -> Flask:  # type: ignore[no-untyped-def]
    return make_app()


def _runs(session: Session, job: str) -> list[JobRun]:
    session.expire_all()
    return list(session.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id)))


def _voted_round(session: Session, closes_in: timedelta, **kw: Any) -> Round:
    period = period_of(utcnow())
    voters = [make_member(session), make_member(session)]
    rnd, chans = open_round(
        session, period=period, channels=2, closes_at=utcnow() + closes_in, **kw
    )
    fund_pool(session, period, 10_000)
    for voter, share in zip(voters, (7000, 4000), strict=True):
        vote(session, voter, rnd, {chans[0].id: share, chans[1].id: 10_000 - share})
    session.commit()
    return rnd


def test_a_second_scheduler_claims_nothing_the_first_claimed(app: Flask, session: Session) -> None:
    now = utcnow()
    first = schedule.tick(app, now)
    second = schedule.tick(app, now)
    assert {job for job, _slot, _id in first.claimed} >= {"notifications.send", "dues.lapse"}
    assert second.claimed == []
    counts = session.execute(
        select(JobRun.job, JobRun.slot, func.count()).group_by(JobRun.job, JobRun.slot)
    ).all()
    assert counts and all(n == 1 for _job, _slot, n in counts)
    assert all(r.status == "succeeded" for r in _runs(session, "notifications.send"))


def test_the_round_closes_at_its_time_and_next_month_opens_with_its_rule_and_weights(
    app: Flask, session: Session
) -> None:
    rnd = _voted_round(session, timedelta(hours=1), rule="consensus")
    admin = make_member(session, admin=True)
    rounds.set_class_weight(session, admin, rnd, "worker", 2500)
    session.commit()

    schedule.tick(app, utcnow())
    assert _runs(session, "rounds.close") == []  # not before the announced time

    schedule.tick(app, rnd.closes_at + timedelta(minutes=1))
    [close] = _runs(session, "rounds.close")
    assert close.status == "succeeded" and close.target_id == rnd.id
    assert session.get(Round, rnd.id, populate_existing=True).status == "published"  # type: ignore[union-attr]

    following = next_period(rnd.period)
    turn = month_start(following) + timedelta(minutes=1)
    schedule.tick(app, turn)
    [opened] = _runs(session, "rounds.open")
    assert opened.status == "succeeded" and opened.slot == following
    new = session.scalar(select(Round).where(Round.period == following))
    assert new is not None and new.rule == "consensus"
    assert rounds.class_weights(session, new.id) == {"consumer": 1000, "worker": 2500}
    schedule.tick(app, turn + timedelta(minutes=5))
    assert len(_runs(session, "rounds.open")) == 1


def test_after_downtime_a_passed_close_runs_once_and_minutes_are_not_replayed(
    app: Flask, session: Session
) -> None:
    rnd = _voted_round(session, timedelta(hours=1))
    back = rnd.closes_at + timedelta(days=3)
    schedule.tick(app, back)
    schedule.tick(app, back + timedelta(minutes=1))
    schedule.tick(app, back + timedelta(minutes=2))
    assert len(_runs(session, "rounds.close")) == 1
    assert len(_runs(session, "notifications.send")) == 3  # one per tick, not per missed minute
    publishes = session.scalar(
        select(func.count())
        .select_from(LedgerTransaction)
        .where(LedgerTransaction.key == f"round:{rnd.id}:publish")
    )
    assert publishes == 1


def test_a_member_lapses_when_their_grace_ends(app: Flask, session: Session) -> None:
    deadline = utcnow() + timedelta(hours=2)
    member = make_member(session, status="past_due", grace_until=deadline)
    session.commit()
    schedule.tick(app, deadline - timedelta(minutes=1))
    assert session.get(Member, member.id, populate_existing=True).status == "past_due"  # type: ignore[union-attr]
    schedule.tick(app, deadline + timedelta(minutes=1))
    assert session.get(Member, member.id, populate_existing=True).status == "lapsed"  # type: ignore[union-attr]
    slots = [r.slot for r in _runs(session, "dues.lapse")]
    assert any(s.startswith("grace:") for s in slots) and len(slots) == len(set(slots))


def test_a_failing_job_is_retried_then_shown_failed_and_writes_nothing(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_then_boom(app: Flask, _t: object, _now: object, _p: object) -> str:
        with database(app).transaction() as s:
            make_member(s, email="half@example.com")
            raise RuntimeError("the SMTP server hung up")

    job = dataclasses.replace(definitions.JOBS["notifications.send"], run=half_then_boom)
    monkeypatch.setitem(definitions.JOBS, "notifications.send", job)
    schedule.tick(app, utcnow())
    [run] = _runs(session, "notifications.send")
    assert run.status == "failed" and run.attempts == job.max_attempts
    assert "the SMTP server hung up" in run.message
    assert session.scalar(select(Member).where(Member.email == "half@example.com")) is None


def test_a_run_whose_message_was_lost_is_sent_again_once(app: Flask, session: Session) -> None:
    now = utcnow()
    run_id = schedule.claim_slot(session, "dues.replay", "lost", None, now, "schedule")
    session.commit()
    later = now + schedule.RESEND_AFTER + timedelta(minutes=1)
    first = schedule.tick(app, later)
    assert first.resent == [run_id]
    assert schedule.tick(app, later).resent == []
    [run] = [r for r in _runs(session, "dues.replay") if r.id == run_id]
    assert run.status == "succeeded" and run.attempts == 1


def test_a_run_sent_again_logs_under_the_request_that_asked_for_it(
    app: Flask, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    now = utcnow()
    with trace.bound_request_id("req-lost-9"):  # an admin's "run now" whose message is lost
        run_id = schedule.request_run(session, "dues.replay", None, now).id
    session.commit()
    later = now + schedule.RESEND_AFTER + timedelta(minutes=1)
    with caplog.at_level(logging.INFO, logger="softcoop.jobs"):
        assert schedule.tick(app, later).resent == [run_id]
    lines = [r for r in caplog.records if getattr(r, "fields", {}).get("run_id") == run_id]
    assert [r.getMessage() for r in lines] == ["job started", "job succeeded"]
    assert {r.fields["request_id"] for r in lines} == {"req-lost-9"}  # type: ignore[attr-defined]
    assert trace.current_request_id() is None  # the tick's own context is left as it was


def test_a_close_whose_worker_died_midway_resumes_once(app: Flask, session: Session) -> None:
    rnd = _voted_round(session, timedelta(hours=1))
    now = utcnow()
    # The worker claimed the run and the round, stopped voting, then was killed.
    rnd.status, rnd.close_lease_until = "closing", now - timedelta(minutes=1)
    run_id = schedule.claim_slot(session, "rounds.close", "crashed", rnd.id, now, "schedule")
    run = session.get(JobRun, run_id)
    assert run is not None
    run.status, run.attempts, run.lease_until = "running", 1, now - timedelta(minutes=1)
    session.commit()
    assert schedule.tick(app, now).resent == [run_id]
    session.expire_all()
    assert session.get(Round, rnd.id).status == "published"  # type: ignore[union-attr]
    assert session.get(JobRun, run_id).attempts == 2  # type: ignore[union-attr]
    booked = session.scalar(
        select(func.count())
        .select_from(LedgerTransaction)
        .where(LedgerTransaction.key == f"round:{rnd.id}:publish")
    )
    assert booked == 1
