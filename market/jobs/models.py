"""The job-run table: one row per scheduled or requested run of a background job."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from market.db import Base, UTCDateTime, utcnow


class RunStatus(enum.StrEnum):
    """queued → running → succeeded | retrying → … | failed."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(Base):
    """One run of a job. `(job, slot)` is unique: inserting it is how a scheduler claims a run."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job", "slot", name="uq_job_run_job_slot"),
        CheckConstraint(
            "status IN ('queued', 'running', 'retrying', 'succeeded', 'failed')",
            name="status_known",
        ),
        Index("ix_job_run_job_created", "job", "created_at"),
        Index("ix_job_run_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    # The due moment this run stands for (a month "YYYY-MM", a closing time, a minute), or
    # "manual:<token>" for an admin's "run now".
    slot: Mapped[str] = mapped_column(String(80))
    # A job's one argument (a round or deal id), or None.
    target_id: Mapped[int | None] = mapped_column(Integer, default=None)
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")
    # The request that asked for the run (X-Request-ID): a resend still logs under it.
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(12), default=RunStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The worker's claim: a second worker skips the run while the lease lives.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    lease_token: Mapped[str | None] = mapped_column(String(32), default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    phase: Mapped[str] = mapped_column(String(16), default="")
    # How far the phase has got, 0-100, for jobs that can tell (imports, exports).
    percent: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
