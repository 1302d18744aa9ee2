"""Under a minute of the cluster drill, so CI runs the production shape with faults.

The same code as `make cluster-drill`, with small numbers: haproxy, three gunicorn hosts,
pgbouncer, a primary and a streaming replica, Redis, two Celery workers and the scheduler;
an app host killed and brought back, Redis restarted, and the worker running the round's
close SIGKILLed in the middle of it. Then every invariant must hold, the close must be
published and booked exactly once, and no request outside a fault window may fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.drill.run import Drill, judge, run
from bench.loadtest.cluster import PrivatePostgres
from tests.support import skip_or_fail

SHORT = Drill(
    seconds=45.0,
    users=8,
    members=60,
    think_s=0.5,
    faults=("host", "redis", "close"),
    at=(0.1, 0.3, 0.5, 0.45),
)


def _tools() -> None:
    """haproxy and pgbouncer (`.ci/run` installs them), PostgreSQL's server binaries, Redis."""
    missing = [
        name
        for name in ("haproxy", "pgbouncer", "redis-server")
        if not (shutil.which(name) or Path(f"/usr/sbin/{name}").exists())
    ]
    if missing:
        skip_or_fail(
            f"the drill needs {', '.join(missing)}: apt-get install haproxy pgbouncer "
            "redis-server (.ci/run and `make cluster-drill` do it when run as root)"
        )
    try:
        PrivatePostgres.binaries()
    except RuntimeError as exc:
        skip_or_fail(str(exc))


def test_short_drill_with_a_host_and_a_worker_killed_loses_nothing() -> None:
    _tools()
    verdict = judge(*run(SHORT))
    text = verdict.text
    assert verdict.lost == 0 and verdict.duplicated == 0, text
    assert "invariant: " in text and " FAIL " not in text, text
    assert verdict.passed, text
    assert verdict.errors_outside == 0, text
    assert "publication booked 1 time(s)" in text and "round published" in text, text
    assert "fault: app host killed and restarted: healed in" in text, text
    assert verdict.requests > 200, text
