"""The jobs package's answer to `market.plugins.Background`: domains start and follow jobs
through it without importing this package (which runs their services)."""

from __future__ import annotations

from typing import Any

from market.jobs.status import PHASES, close_progress, latest_close, latest_run, run_progress
from market.jobs.views import start_run


class JobsBackground:
    """Queue runs with the request's session; read a round's close progress."""

    phases: list[str] = list(PHASES)

    def start(self, job: str, target: int | None = None) -> int:
        """Queue a run (committed, then sent to the workers); its id."""
        return start_run(job, target)

    def close_progress(self, session: Any, round_id: int, status: str) -> dict[str, Any]:
        """Phase, percent and done of the round's latest close run."""
        return close_progress(latest_close(session, round_id), status)

    def progress(self, session: Any, job: str, target: int) -> dict[str, Any]:
        """Phase, percent and done of the newest run of `job` for `target`."""
        return run_progress(latest_run(session, job, target))
