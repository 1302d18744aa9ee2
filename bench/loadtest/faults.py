"""The fault injector: kill workers, restart the database, flood the webhook endpoint.

Every fault opens a window on the run's clock. Errors inside a kill or restart window are
the fault's expected damage and are counted apart; errors outside them count against the
app. The webhook burst is load, not breakage, so it excuses nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp

from bench.http import FAILURES, Recorder
from bench.loadtest.cluster import PrivatePostgres
from bench.loadtest.server import Gunicorn


@dataclass(frozen=True)
class Window:
    """A stretch of the run during which a fault was in effect."""

    kind: str  # "kill" | "restart" | "burst"
    start: float
    end: float
    note: str = ""


@dataclass
class FaultLog:
    """What the injector did and what it measured."""

    windows: list[Window] = field(default_factory=list)
    kills: int = 0
    db_down_s: float | None = None  # restart issued -> server accepting connections again
    recovery_s: float | None = None  # restart issued -> first good DB-backed request
    notes: list[str] = field(default_factory=list)

    def excused(self, start: float, end: float) -> bool:
        """True when a request overlapped a kill or restart window."""
        return any(w.kind != "burst" and start <= w.end and end >= w.start for w in self.windows)


async def kill_workers(
    server: Gunicorn, rec: Recorder, log: FaultLog, every: float, window: float, stop_at: float
) -> None:
    """SIGKILL one worker (in turn) every `every` seconds until `stop_at`."""
    turn = 0
    while rec.now() + every < stop_at:
        await asyncio.sleep(every)
        pids = server.worker_pids()
        if not pids:
            log.notes.append(f"{rec.now():.1f}s: no worker to kill")
            continue
        pid = pids[turn % len(pids)]
        turn += 1
        at = rec.now()
        server.kill_worker(pid)
        log.kills += 1
        log.windows.append(Window("kill", at, at + window, f"worker {pid}"))


async def restart_database(
    cluster: PrivatePostgres,
    probe: aiohttp.ClientSession,
    rec: Recorder,
    log: FaultLog,
    at: float,
    window: float,
) -> None:
    """Restart PostgreSQL at `at` s and time how long until the app serves from it again."""
    await asyncio.sleep(at)
    issued = rec.now()
    await asyncio.get_running_loop().run_in_executor(None, cluster.restart)
    log.db_down_s = rec.now() - issued
    # A page that needs the database: the member is loaded on every signed-in request.
    while rec.now() - issued < 120:
        try:
            async with probe.get("/profile", allow_redirects=False) as resp:
                await resp.read()
                if resp.status == 200:
                    break
        except FAILURES:
            pass
        await asyncio.sleep(0.05)
    else:
        log.notes.append("the app did not recover within 120 s of the database restart")
    log.recovery_s = rec.now() - issued
    log.windows.append(
        Window("restart", issued, issued + log.recovery_s + window, "PostgreSQL restart")
    )
