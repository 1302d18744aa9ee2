"""Running one job run: claim it under a lease, run the job's body, record the outcome.

The claim is a conditional UPDATE of the run's row, so when two workers get the same run
(a message delivered twice, a scheduler re-sending a stale one) exactly one runs it. The
job's body commits its own transactions: an error rolls back the one it was in, so a run
that raises leaves nothing half-applied, and it is retried with backoff, then marked failed
with its message.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask
from sqlalchemy import CursorResult, or_, update

from market.clock import utcnow
from market.errors import DomainError
from market.jobs.definitions import JOBS
from market.jobs.models import JobRun, RunStatus
from market.webdb import database

LEASE = timedelta(minutes=30)
BACKOFF_SECONDS = (10, 60, 300)


@dataclass(frozen=True)
class Outcome:
    """What a call to `execute` did: ran it ('succeeded'/'retrying'/'failed') or 'skipped'."""

    status: str
    message: str = ""
    retry_in: int | None = None


def backoff(attempt: int) -> int:
    """Seconds to wait before the attempt after `attempt` (1-based): 10 s, 1 min, 5 min."""
    return BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1]


def lease(app: Flask) -> timedelta:
    """How long a claimed run is held (JOB_LEASE_SECONDS; LEASE by default)."""
    seconds = app.config.get("JOB_LEASE_SECONDS")
    return timedelta(seconds=int(seconds)) if seconds else LEASE


def _claim(app: Flask, run_id: int, now: datetime) -> str | None:
    token = secrets.token_hex(16)
    runnable = or_(
        JobRun.status.in_([RunStatus.QUEUED.value, RunStatus.RETRYING.value]),
        # A worker that died mid-run: its lease runs out and the run is taken up again.
        (JobRun.status == RunStatus.RUNNING.value) & (JobRun.lease_until < now),
    )
    with database(app).transaction() as session:
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, runnable)
            .values(
                status=RunStatus.RUNNING.value,
                lease_until=now + lease(app),
                lease_token=token,
                attempts=JobRun.attempts + 1,
                started_at=now,
                phase="",
                percent=0,
            )
            .execution_options(synchronize_session=False)
        )
    return token if cast(CursorResult[Any], result).rowcount == 1 else None


def _record(app: Flask, run_id: int, token: str, **values: Any) -> None:
    with database(app).transaction() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.lease_token == token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _message(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"[:2000]


def execute(app: Flask, run_id: int, now: datetime | None = None) -> Outcome:
    """Run one job run if nobody else holds it; record success, a retry or the failure."""
    now = now or utcnow()
    token = _claim(app, run_id, now)
    if token is None:
        return Outcome("skipped", "Another worker has (or had) this run.")
    with database(app).transaction() as session:
        run = session.get(JobRun, run_id)
        assert run is not None
        job, target, attempts = JOBS[run.job], run.target_id, run.attempts
    started = time.perf_counter()
    try:

        def progress(phase: str, percent: int = 0) -> None:
            _record(app, run_id, token, phase=phase, percent=percent)

        message = job.run(app, target, now, progress)
    except Exception as exc:  # noqa: BLE001  (every failure is recorded, none is lost)
        return _failed(app, run_id, token, attempts, job.max_attempts, _message(exc), started)
    _record(
        app,
        run_id,
        token,
        status=RunStatus.SUCCEEDED.value,
        message=message,
        finished_at=utcnow(),
        duration_ms=int((time.perf_counter() - started) * 1000),
        lease_until=None,
    )
    return Outcome(RunStatus.SUCCEEDED.value, message)


def _failed(
    app: Flask, run_id: int, token: str, attempts: int, limit: int, message: str, started: float
) -> Outcome:
    duration = int((time.perf_counter() - started) * 1000)
    if attempts < limit:
        wait = backoff(attempts)
        _record(
            app,
            run_id,
            token,
            status=RunStatus.RETRYING.value,
            message=f"Attempt {attempts} of {limit} failed: {message}",
            next_attempt_at=utcnow() + timedelta(seconds=wait),
            duration_ms=duration,
            lease_until=None,
        )
        return Outcome(RunStatus.RETRYING.value, message, wait)
    _record(
        app,
        run_id,
        token,
        status=RunStatus.FAILED.value,
        message=f"Failed after {attempts} attempt(s): {message}",
        finished_at=utcnow(),
        duration_ms=duration,
        lease_until=None,
    )
    return Outcome(RunStatus.FAILED.value, message)
