"""The schedule: a tick that any number of processes may run at once.

Each tick computes which slots are due from the database and the clock, and claims each by
inserting its `(job, slot)` row (INSERT … ON CONFLICT DO NOTHING): a second scheduler's
insert matches the unique index and it skips. It also sends again the runs whose message
may have been lost (the broker was down, a retry was never delivered), claiming each resend
with a conditional UPDATE so that two schedulers do not both resend.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from market import trace
from market.clock import utcnow
from market.jobs.definitions import JOBS
from market.jobs.models import JobRun, RunStatus
from market.jobs.queue import enqueue
from market.webdb import database

log = logging.getLogger(__name__)

# A queued run whose message has not been taken up after this long is sent again.
RESEND_AFTER = timedelta(minutes=5)
# Succeeded runs of the every-few-minutes jobs are kept this long.
KEEP_ROUTINE = timedelta(days=7)
ROUTINE = ("notifications.send", "notifications.notices", "dues.replay")


@dataclass
class Tick:
    """What one tick did: the runs it claimed and the ones it sent again."""

    claimed: list[tuple[str, str, int]] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)


def claim_slot(
    session: Session, job: str, slot: str, target: int | None, now: datetime, trigger: str
) -> int | None:
    """Insert the run for `(job, slot)`; its id, or None when another process has it."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(JobRun)
        .values(
            job=job,
            slot=slot,
            target_id=target,
            trigger=trigger,
            status=RunStatus.QUEUED.value,
            attempts=0,
            phase="",
            message="",
            created_at=now,
            enqueued_at=now,
        )
        .on_conflict_do_nothing(index_elements=["job", "slot"])
        .returning(JobRun.id)
    )
    return session.scalar(stmt)


def request_run(session: Session, job: str, target: int | None, now: datetime) -> JobRun:
    """An admin's "run now": a run of its own (a fresh slot), queued."""
    if job not in JOBS:
        from market.errors import NotFound

        raise NotFound("There is no such job.")
    slot = f"manual:{now:%Y-%m-%dT%H:%M:%S}:{secrets.token_hex(4)}"
    run_id = claim_slot(session, job, slot, target, now, "manual")
    assert run_id is not None
    run = session.get(JobRun, run_id)
    assert run is not None
    run.request_id = trace.current_request_id()  # a resend of the run still names it
    return run


def tick(app: Flask, now: datetime | None = None) -> Tick:
    """Claim every due slot and send its run; resend the runs that look lost.

    Given a moment (a simulation, a test), the runs are told it too; otherwise the
    workers read the clock when they run.
    """
    travel = now
    now = now or utcnow()
    db = database(app)
    result = Tick()
    with db.transaction() as session:
        # One order for every scheduler, so two inserting at once never deadlock.
        due = sorted(
            (job.name, slot, target)
            for job in JOBS.values()
            for slot, target in job.due(session, now)
        )
        for name, slot, target in due:
            run_id = claim_slot(session, name, slot, target, now, "schedule")
            if run_id is not None:
                result.claimed.append((name, slot, run_id))
        result.resent = _claim_resends(session, now)
        _prune(session, now)
    for job_name, _slot, run_id in result.claimed:
        enqueue(app, job_name, run_id, travel)
    with db.transaction() as session:
        lost = session.execute(
            select(JobRun.id, JobRun.job, JobRun.request_id).where(JobRun.id.in_(result.resent))
        ).all()
    for run_id, job_name, request_id in lost:
        with trace.bound_request_id(request_id):  # the request that asked for it, if any
            enqueue(app, job_name, run_id, travel)
    return result


def _claim_resends(session: Session, now: datetime) -> list[int]:
    stale = or_(
        (JobRun.status == RunStatus.QUEUED.value) & (JobRun.enqueued_at < now - RESEND_AFTER),
        (JobRun.status == RunStatus.RETRYING.value) & (JobRun.next_attempt_at < now - RESEND_AFTER),
        (JobRun.status == RunStatus.RUNNING.value) & (JobRun.lease_until < now),
    )
    ids = list(session.scalars(select(JobRun.id).where(stale).order_by(JobRun.id).limit(100)))
    claimed = []
    for run_id in ids:
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, stale)
            .values(enqueued_at=now, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(run_id)
    return claimed


def _prune(session: Session, now: datetime) -> None:
    session.execute(
        delete(JobRun).where(
            JobRun.job.in_(ROUTINE),
            JobRun.status == RunStatus.SUCCEEDED.value,
            JobRun.created_at < now - KEEP_ROUTINE,
        )
    )


def serve(app: Flask, interval: float, stop: threading.Event) -> None:
    """Tick every `interval` seconds until `stop` is set (the scheduler process)."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            done = tick(app)
            for job, slot, run_id in done.claimed:
                log.info("scheduled %s %s (run %s)", job, slot, run_id)
        except Exception:  # noqa: BLE001  (a bad tick must not stop the schedule)
            log.exception("scheduler tick failed")
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
