"""A few seconds of the load run, so CI guards the invariants under concurrency and faults.

The same code as `python -m bench.loadtest`, with small numbers: gunicorn with 4
workers on PostgreSQL, members clicking, workers killed, clients walking away
mid-request, duplicated and shuffled webhooks; then every invariant must hold and no
request outside a fault window may fail.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bench.loadtest.cluster import PrivatePostgres
from bench.loadtest.report import Report
from bench.loadtest.runner import Settings, run
from tests import support

SHORT = Settings(
    seconds=6.0,
    users=12,
    members=60,
    think_s=0.1,
    kill_every_s=2.5,
    burst_events=60,
    burst_copies=5,
    burst_at=0.2,
    restart_db=False,
)


def _assert_nothing_lost(report: Report) -> None:
    text = report.render()
    assert report.violations() == 0, text
    _inside, outside = report.split()
    assert outside, text
    assert [s for s in outside if not s.ok] == [], text
    assert report.faults.kills >= 2, text
    assert sum(report.rec.disconnects.values()) > 0, text


def test_short_run_under_worker_kills_loses_nothing(tmp_path: Path) -> None:
    if not support.postgres_url():
        support.skip_or_fail("the load run needs PostgreSQL: set TEST_DATABASE_URL")
    with support.fresh_database("postgresql", tmp_path) as url:
        report = run(replace(SHORT, database_url=url))
    _assert_nothing_lost(report)


def test_app_recovers_by_itself_from_a_database_restart() -> None:
    try:
        PrivatePostgres.binaries()
    except RuntimeError as exc:
        support.skip_or_fail(str(exc))
    report = run(replace(SHORT, burst_events=0, restart_db=True, restart_at=0.4))
    _assert_nothing_lost(report)
    assert report.faults.recovery_s is not None
    assert report.faults.recovery_s < 10, report.render()
