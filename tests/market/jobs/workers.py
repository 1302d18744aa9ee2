"""Real Celery workers for tests: brokers, settings, a worker subprocess, waiting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from market import create_app
from market.jobs.models import JobRun
from market.webdb import database
from tests import support

REDIS = "redis://127.0.0.1:6379/0"
# `celery …` on the test run's clock when the suite travels in time (as gunicorn is).
ON_THE_RUNS_CLOCK = (
    "import sys; from market.clock import follow_offset; follow_offset(); "
    "from celery.__main__ import main; sys.argv[0] = 'celery'; main()"
)
RABBIT = "amqp://guest:guest@127.0.0.1:5672//"


def reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def broker(kind: str, tmp: Path) -> str:
    if kind == "embedded":
        return f"sqla+sqlite:///{tmp / 'broker.db'}"
    url, port = (REDIS, 6379) if kind == "redis" else (RABBIT, 5672)
    if not reachable(port):
        support.skip_or_fail(f"{kind} is not running on port {port}")
    return url


def settings(database_url: str, broker: str, queue: str, tmp: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE": queue,
        "SECRET_KEY": "test-secret",
    }


def app(settings: dict[str, str]) -> Flask:
    return create_app(support.app_config(CELERY_ALWAYS_EAGER=False, **settings))


@contextmanager
def worker(settings: dict[str, str], name: str, tmp: Path) -> Iterator[None]:
    """A real `celery worker` process, stopped (warm, then hard) on the way out."""
    log = (tmp / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", ON_THE_RUNS_CLOCK, "-A", "market.jobs.worker", "worker",
         "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "warning",
         "-n", f"{name}@%h"],
        cwd=support.ROOT,
        env={**os.environ, **settings},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def wait_for(check: Callable[[], bool], tmp: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp.glob("*.log"))
    raise AssertionError(f"the workers did not finish in {timeout} s; logs:\n{logs}")


def runs_done(app: Flask, job: str, count: int) -> Callable[[], bool]:
    def check() -> bool:
        with database(app).transaction() as s:
            done = s.scalar(
                select(func.count())
                .select_from(JobRun)
                .where(JobRun.job == job, JobRun.status.in_(["succeeded", "failed"]))
            )
        return (done or 0) >= count

    return check
