"""The drill's background side: two Celery workers and the scheduler, and the fault that
kills a worker in the middle of a round's close.

The close is held mid-way on purpose: the drill inserts the round's publication key into the
ledger in a transaction it never commits, so the worker's publishing transaction waits inside
the booking (on that unique key, which nothing else touches); the drill then SIGKILLs that
worker and rolls its own insert back. Its transaction dies with its connection, its leases
run out (JOB_LEASE_SECONDS, CLOSE_LEASE_SECONDS), the scheduler sends the run again and the
other worker (or the killed one, back up) resumes the close from its stage. The check
afterwards reads the ledger: the round is published and its booking is there exactly once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from market.config import ROOT

# `python -c` entry points on the run's clock (a test run may travel in time).
_CELERY = (
    "import sys; from market.clock import follow_offset; follow_offset(); "
    "from celery.__main__ import main; sys.argv[0] = 'celery'; main()"
)
_FLASK = (
    "import sys; from market.clock import follow_offset; follow_offset(); "
    "from flask.cli import main; sys.argv[0] = 'flask'; main()"
)
LEASE_S = 12  # the drill's leases: a killed worker's close is taken up after this long


class Process:
    """A background process of the drill (no port): started, SIGKILLed, started again."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name, self.args, self.env = name, args, env
        self.root = Path(tempfile.mkdtemp(prefix=f"softcoop-{name}-"))
        self.log = self.root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (the output goes to its log, appended across restarts)."""
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", *self.args], cwd=ROOT, env={**os.environ, **self.env},
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        out.close()

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost machine would: no clean-up at all."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM (a warm shutdown), SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()

    def text(self) -> str:
        """Its log so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def remove(self) -> None:
        """Stop and delete its files."""
        self.stop()
        import shutil

        shutil.rmtree(self.root, ignore_errors=True)


def worker(name: str, env: dict[str, str]) -> Process:
    """A Celery worker: one process (solo pool), so a SIGKILL takes the running job with it."""
    return Process(name, [_CELERY, "-A", "market.jobs.worker", "worker", "--pool", "solo",
                          "--without-heartbeat", "--without-gossip", "--without-mingle",
                          "-l", "warning", "-n", f"{name}@%h"], env)  # fmt: skip


def scheduler(env: dict[str, str], interval: float = 2.0) -> Process:
    """`flask jobs scheduler`: ticks, and resends runs whose worker died (lease expired)."""
    return Process("scheduler", [_FLASK, "--app", "market", "jobs", "scheduler",
                                 "--interval", str(interval)], env)  # fmt: skip


def jobs_env(broker: str) -> dict[str, str]:
    """What hosts, workers and the scheduler share: the broker and the drill's short leases."""
    return {"CELERY_BROKER_URL": broker, "CELERY_QUEUE": "softcoop-drill",
            "JOB_LEASE_SECONDS": str(LEASE_S), "CLOSE_LEASE_SECONDS": str(LEASE_S)}  # fmt: skip


@dataclass
class CloseFault:
    """What happened to the close: who was killed, when it was published, what was booked."""

    killed: str = ""
    held_s: float = 0.0  # lock taken -> worker killed
    resumed_s: float | None = None  # worker killed -> round published
    attempts: int = 0
    bookings: int = 0
    status: str = ""
    runs: list[str] = field(default_factory=list)  # each close run's outcome, as recorded
    notes: list[str] = field(default_factory=list)

    def lost(self) -> int:
        """1 when the close never booked (or never published)."""
        return int(self.status != "published" or self.bookings == 0)

    def duplicated(self) -> int:
        """How many bookings too many."""
        return max(self.bookings - 1, 0)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def hold_booking(direct_url: str, round_id: int) -> psycopg.Connection:
    """Insert the round's publication key into the ledger in an open transaction, never
    committed: the close's booking (INSERT of the same unique key) waits on it, and nothing
    else does (a lock on a shared account would hold every member's dues with it)."""
    conn = psycopg.connect(_libpq(direct_url))
    row = conn.execute('SELECT period FROM "round" WHERE id = %s', (round_id,)).fetchone()
    if row is None:
        conn.close()
        raise RuntimeError(f"round {round_id} does not exist")
    try:
        conn.execute(
            "INSERT INTO ledger_txn (key, kind, memo, period, occurred_at, created_at)"
            " VALUES (%s, 'drill', 'held by the drill, rolled back', %s, now(), now())",
            (f"round:{round_id}:publish", row[0]),
        )
    except BaseException:
        conn.close()
        raise
    return conn


def close_runner(workers: list[Process], direct_url: str, timeout: float = 60) -> Process | None:
    """The worker whose close is waiting on the held lock (its log names the run it started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(_libpq(direct_url), autocommit=True) as conn:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query ILIKE '%%ledger_txn%%'"
            ).fetchone()
            phase = conn.execute(
                "SELECT phase FROM job_run WHERE job = 'rounds.close' AND status = 'running'"
            ).fetchone()
        # The close is in its booking transaction, waiting on the held key.
        if waiting and waiting[0] and phase and phase[0] == "book":
            for w in workers:
                # The last run the worker started is the close (it holds its only slot).
                started = [ln for ln in w.text().splitlines() if '"msg": "job started"' in ln]
                if started and "softcoop.rounds.close" in started[-1]:
                    return w
        time.sleep(0.2)
    return None


def close_runs(direct_url: str) -> list[str]:
    """Each close run: status, attempts and its last message (why an attempt failed)."""
    with psycopg.connect(_libpq(direct_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, status, attempts, message FROM job_run WHERE job = 'rounds.close'"
            " ORDER BY id"
        ).fetchall()
    return [f"run {i}: {status} after {n} attempt(s): {msg}" for i, status, n, msg in rows]


def ledger_state(direct_url: str, round_id: int) -> tuple[str, int, int]:
    """(round status, bookings of its publication, attempts of its close runs)."""
    with psycopg.connect(_libpq(direct_url), autocommit=True) as conn:
        row = conn.execute('SELECT status FROM "round" WHERE id = %s', (round_id,)).fetchone()
        booked = conn.execute(
            "SELECT count(*) FROM ledger_txn WHERE key IN (%s, %s)",
            (f"round:{round_id}:publish", f"round:{round_id}:carry"),
        ).fetchone()
        attempts = conn.execute(
            "SELECT coalesce(sum(attempts), 0) FROM job_run WHERE job = 'rounds.close'"
        ).fetchone()
    return (row[0] if row else "", int(booked[0]) if booked else 0,
            int(attempts[0]) if attempts else 0)  # fmt: skip


def kill_mid_close(
    workers: list[Process],
    direct_url: str,
    round_id: int,
    lock: psycopg.Connection,
    result: CloseFault,
    timeout: float,
) -> None:
    """With the close waiting on the held lock: kill its worker, release, wait for publish.

    Called with the key held (`hold_booking`) and the close requested; blocking.
    """
    held = time.monotonic()
    victim = close_runner(workers, direct_url)
    if victim is None:
        release(lock)
        result.notes.append("no worker was seen running the close within 60 s")
        return
    victim.kill()
    killed = time.monotonic()
    release(lock)  # rolled back: the drill's key is gone, the dead worker's transaction too
    result.killed, result.held_s = victim.name, killed - held
    victim.start()  # the host's supervisor brings it back; either worker may resume
    deadline = killed + timeout
    while time.monotonic() < deadline:
        result.status, result.bookings, result.attempts = ledger_state(direct_url, round_id)
        if result.status == "published":
            result.resumed_s = time.monotonic() - killed
            return
        time.sleep(0.25)
    result.notes.append(f"the close did not resume within {timeout:.0f} s")


def release(conn: psycopg.Connection) -> None:
    """Roll back the held lock (never raises: the holder may already be gone)."""
    with contextlib.suppress(Exception):
        conn.rollback()
    with contextlib.suppress(Exception):
        conn.close()
