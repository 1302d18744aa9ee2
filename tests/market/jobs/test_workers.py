"""Real Celery workers (subprocesses) on the embedded broker, RabbitMQ and Redis.

Two workers and two schedulers at once against one PostgreSQL database never apply an
effect twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from allocation.models import Round
from market.clock import period_of
from market.db import utcnow
from market.jobs import schedule
from market.jobs.models import JobRun
from market.jobs.queue import enqueue
from market.ledger.models import LedgerTransaction
from market.members.models import Member
from market.webdb import database
from tests.allocation.factories import fund_pool, open_round, vote
from tests.market.factories import make_member
from tests.market.jobs import workers


def test_a_worker_runs_what_the_schedule_claims(
    live_database: str, backend: str, tmp_path: Path
) -> None:
    # The embedded broker on SQLite (as make run has it), RabbitMQ on PostgreSQL.
    kind = "embedded" if backend == "sqlite" else "rabbitmq"
    settings = workers.settings(
        live_database, workers.broker(kind, tmp_path), uuid.uuid4().hex, tmp_path
    )
    app = workers.app(settings)
    with database(app).transaction() as s:
        member_id = make_member(s, status="past_due", grace_until=utcnow()).id
    with workers.worker(settings, "solo", tmp_path):
        claimed = schedule.tick(app)
        assert "dues.lapse" in {job for job, _slot, _id in claimed.claimed}
        # The day's run and the grace-deadline one.
        workers.wait_for(workers.runs_done(app, "dues.lapse", 2), tmp_path)
    with database(app).transaction() as s:
        assert s.get(Member, member_id).status == "lapsed"  # type: ignore[union-attr]
        runs = s.scalars(select(JobRun).where(JobRun.job == "dues.lapse")).all()
        assert {r.status for r in runs} == {"succeeded"} and {r.attempts for r in runs} == {1}
    database(app).engine.dispose()


def _round_to_close(app: Flask) -> int:
    with database(app).transaction() as s:
        voters = [make_member(s) for _ in range(3)]
        rnd, chans = open_round(
            s, period=period_of(utcnow()), channels=2, closes_at=utcnow() + timedelta(hours=1)
        )
        for voter in voters:
            vote(s, voter, rnd, {chans[0].id: 5000, chans[1].id: 5000})
        fund_pool(s, rnd.period, 30_000)
        return rnd.id


def _two_schedulers(apps: list[Flask]) -> list[Any]:
    barrier = threading.Barrier(len(apps))
    results: list[Any] = [None] * len(apps)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = schedule.tick(apps[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.backends("postgresql")  # real concurrency is the PostgreSQL test
def test_two_workers_and_two_schedulers_apply_each_effect_once(
    live_database: str, backend: str, tmp_path: Path
) -> None:
    settings = workers.settings(
        live_database, workers.broker("redis", tmp_path), uuid.uuid4().hex, tmp_path
    )
    apps = [workers.app(settings), workers.app(settings)]
    round_id = _round_to_close(apps[0])
    with database(apps[0]).transaction() as s:
        run_id = schedule.request_run(s, "rounds.close", round_id, utcnow()).id
    with ExitStack() as stack:
        for name in ("w1", "w2"):
            stack.enter_context(workers.worker(settings, name, tmp_path))
        for _ in range(4):  # the same run, delivered again and again
            enqueue(apps[0], "rounds.close", run_id)
        ticks = _two_schedulers(apps)
        workers.wait_for(workers.runs_done(apps[0], "rounds.close", 1), tmp_path)
        workers.wait_for(workers.runs_done(apps[0], "notifications.send", 1), tmp_path)
        time.sleep(2)  # let the duplicate messages reach the workers and be skipped
    claimed = [{run for _job, _slot, run in t.claimed} for t in ticks]
    assert claimed[0] and claimed[1] is not None and not claimed[0] & claimed[1]
    with database(apps[0]).transaction() as s:
        run = s.get(JobRun, run_id)
        assert run is not None and run.status == "succeeded" and run.attempts == 1
        slots = s.execute(select(JobRun.job, JobRun.slot)).all()
        assert len(slots) == len(set(slots)) == 1 + len(claimed[0] | claimed[1])
        assert s.get(Round, round_id).status == "published"  # type: ignore[union-attr]
        booked = s.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.key == f"round:{round_id}:publish")
        )
        assert booked == 1
    for app in apps:
        database(app).engine.dispose()
