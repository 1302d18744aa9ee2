"""`flask --app market jobs tick|scheduler|run|list`: the schedule from the command line."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from market.clock import utcnow
from market.jobs import runner, schedule
from market.jobs.definitions import JOBS
from market.webdb import database

jobs_cli = AppGroup("jobs", help="Background jobs and their schedule.")


def _app():  # type: ignore[no-untyped-def]
    return current_app._get_current_object()  # type: ignore[attr-defined]


@jobs_cli.command("tick")
def tick_cmd() -> None:
    """Claim and enqueue every run due now (safe on any number of hosts at once)."""
    done = schedule.tick(_app())
    for job, slot, run_id in done.claimed:
        click.echo(f"scheduled {job} {slot} (run {run_id})")
    click.echo(f"{len(done.claimed)} run(s) scheduled, {len(done.resent)} sent again.")


@jobs_cli.command("scheduler")
@click.option("--interval", default=20.0, show_default=True, help="Seconds between ticks.")
def scheduler_cmd(interval: float) -> None:
    """Tick forever (the scheduler process; run one per host, or several)."""
    logging.basicConfig(level=logging.INFO, format="scheduler: %(message)s")
    click.echo(f"scheduler: ticking every {interval:g} s", err=True)
    stop = threading.Event()
    # SIGTERM (the dev server stopping us) and Ctrl-C end the loop between ticks.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    schedule.serve(_app(), interval, stop)


@jobs_cli.command("run")
@click.argument("job", type=click.Choice(sorted(JOBS)))
@click.option("--target", type=int, default=None, help="A round or deal id.")
def run_cmd(job: str, target: int | None) -> None:
    """Run a job now, in this process, recorded like any other run."""
    app = _app()
    with database(app).transaction() as session:
        run_id = schedule.request_run(session, job, target, utcnow()).id
    outcome = runner.execute(app, run_id)
    click.echo(f"{job}: {outcome.status}. {outcome.message}")
    if outcome.status != "succeeded":
        raise SystemExit(1)
