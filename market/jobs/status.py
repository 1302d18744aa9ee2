"""What the Jobs page and the close's progress bar show, read from the job-run table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.jobs.definitions import JOBS, Job
from market.jobs.models import JobRun, RunStatus

PHASES = ("claim", "tally", "book", "audit", "publish")
FAILED = (RunStatus.FAILED.value, RunStatus.RETRYING.value)


@dataclass(frozen=True)
class JobLine:
    """One job on the Jobs page."""

    job: Job
    last: JobRun | None
    pending: int
    next_at: datetime | None
    failures: list[JobRun]


def job_lines(session: Session, now: datetime) -> list[JobLine]:
    """Each job's last finished run, queued runs, next due moment and recent failures."""
    lines = []
    for job in JOBS.values():
        runs = list(
            session.scalars(
                select(JobRun)
                .where(JobRun.job == job.name)
                .order_by(JobRun.created_at.desc(), JobRun.id.desc())
                .limit(20)
            )
        )
        finished = [r for r in runs if r.status not in (RunStatus.QUEUED, RunStatus.RUNNING)]
        lines.append(
            JobLine(
                job=job,
                last=finished[0] if finished else None,
                pending=sum(r.status in (RunStatus.QUEUED, RunStatus.RUNNING) for r in runs),
                next_at=job.next_at(session, now),
                failures=[r for r in runs if r.status in FAILED][:5],
            )
        )
    return lines


def latest_run(session: Session, job: str, target_id: int) -> JobRun | None:
    """The newest run of a job for one target (scheduled or requested)."""
    return session.scalar(
        select(JobRun)
        .where(JobRun.job == job, JobRun.target_id == target_id)
        .order_by(JobRun.id.desc())
        .limit(1)
    )


def latest_close(session: Session, round_id: int) -> JobRun | None:
    """The newest close run of a round (scheduled or requested)."""
    return latest_run(session, "rounds.close", round_id)


def run_progress(run: JobRun | None) -> dict[str, object]:
    """A file job's progress bar: phase, percent, done, failed, message, active."""
    if run is None:
        idle = {"phase": "", "percent": 0, "done": False, "failed": False}
        return {**idle, "message": "", "active": False}
    done = run.status == RunStatus.SUCCEEDED
    failed = run.status == RunStatus.FAILED
    phase = "queued" if run.status == RunStatus.QUEUED else (run.phase or "start")
    return {
        "phase": "done" if done else phase,
        "percent": 100 if done else max(run.percent or 0, 2),
        "done": done,
        "failed": failed,
        "message": run.message if failed or run.status == RunStatus.RETRYING else "",
        "active": not done and not failed,
    }


def close_progress(run: JobRun | None, round_status: str) -> dict[str, object]:
    """The progress bar's state: phase, percent, done, failed, a message, and whether a
    close is under way (active) at all."""
    if round_status == "published":
        done = {"phase": "publish", "percent": 100, "done": True, "failed": False}
        return {**done, "message": "", "active": False}
    if run is None:
        idle = {"phase": "", "percent": 0, "done": False, "failed": False}
        return {**idle, "message": "", "active": False}
    failed = run.status == RunStatus.FAILED
    phase = run.phase or "claim"
    # Each phase is its own transaction; the audit file is the long one at a million ballots.
    percent = {"claim": 5, "tally": 20, "book": 45, "audit": 55, "publish": 95}.get(phase, 5)
    if run.status == RunStatus.QUEUED:
        phase, percent = "queued", 2
    return {
        "phase": phase,
        "percent": percent,
        "done": False,
        "failed": failed,
        "message": run.message if failed or run.status == RunStatus.RETRYING else "",
        "active": True,
    }
