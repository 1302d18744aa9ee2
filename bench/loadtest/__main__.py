"""`python -m bench.loadtest --minutes 5`: the load and fault run, with its report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.loadtest.runner import Settings, run


def parse(argv: list[str] | None = None) -> Settings:
    """Command-line options to Settings."""
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__)
    p.add_argument("--minutes", type=float, default=d.seconds / 60, help="length of the run")
    p.add_argument("--users", type=int, default=d.users, help="concurrent simulated members")
    p.add_argument("--think", type=float, default=d.think_s, help="mean pause between actions (s)")
    p.add_argument("--workers", type=int, default=d.workers, help="gunicorn workers")
    p.add_argument("--kill-every", type=float, default=d.kill_every_s, help="s; 0 = never")
    p.add_argument("--no-db-restart", action="store_true", help="skip the PostgreSQL restart")
    p.add_argument("--burst", type=int, default=d.burst_events, help="webhook events in the burst")
    p.add_argument("--copies", type=int, default=d.burst_copies, help="deliveries of each")
    p.add_argument(
        "--database-url",
        help="use this empty PostgreSQL database instead of a private cluster (no restart)",
    )
    p.add_argument("--log", type=Path, help="append gunicorn's output to this file")
    p.add_argument("--seed", type=int, default=d.seed)
    a = p.parse_args(argv)
    return Settings(
        seconds=a.minutes * 60,
        users=a.users,
        members=max(d.members, a.users + 1),
        think_s=a.think,
        workers=a.workers,
        kill_every_s=a.kill_every,
        restart_db=not a.no_db_restart,
        burst_events=a.burst,
        burst_copies=a.copies,
        database_url=a.database_url,
        seed=a.seed,
        log=a.log,
    )


def main(argv: list[str] | None = None) -> int:
    """Run, print the report, exit 1 when a target was missed."""
    settings = parse(argv)
    print(f"Running for {settings.seconds:.0f} s with {settings.users} members...", flush=True)
    report = run(settings)
    print(report.render())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
