"""/readyz with each dependency stopped in turn: the database, Redis, the broker.

Real servers, private to the test (a PostgreSQL cluster and two redis-servers on free ports),
so stopping them touches nobody else: each stop answers 503 naming that one dependency and
only it, and the host is ready again once it is back, without a restart of the app.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask.testing import FlaskClient

from bench.drill.services import Redis
from bench.loadtest.cluster import PrivatePostgres
from market import create_app
from tests.support import app_config, skip_or_fail


def _readyz(client: FlaskClient) -> tuple[int, dict[str, str]]:
    response = client.get("/readyz")
    assert response.json is not None
    return response.status_code, response.json["checks"]


def _ready_again(client: FlaskClient, timeout: float = 20) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        status, checks = _readyz(client)
        if status == 200 or time.monotonic() > deadline:
            assert status == 200, checks
            return checks
        time.sleep(0.3)


def test_readyz_names_each_dependency_stopped_in_turn_and_recovers() -> None:
    try:
        PrivatePostgres.binaries()
    except RuntimeError as exc:
        skip_or_fail(str(exc))
    pg, redis, broker = PrivatePostgres(), Redis(), Redis()
    try:
        url = pg.start()
        redis.start()
        broker.start()
        app = create_app(
            app_config(DATABASE_URL=url, REDIS_URL=redis.url, CELERY_BROKER_URL=broker.url)
        )
        client = app.test_client()
        everything = {"database": "ok", "redis": "ok", "broker": "ok"}
        assert _readyz(client) == (200, everything)
        stops: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            ("database", lambda: pg._pg_ctl("stop", "-m", "fast"), lambda: pg._pg_ctl("start")),
            ("redis", redis.stop, redis.start),
            ("broker", broker.stop, broker.start),
        ]
        for name, stop, start in stops:
            stop()
            status, checks = _readyz(client)
            assert status == 503, (name, checks)
            assert checks[name].startswith("down: "), (name, checks)
            assert {k: v for k, v in checks.items() if k != name} == {
                k: "ok" for k in everything if k != name
            }, (name, checks)
            start()
            assert _ready_again(client) == everything
        from market.webdb import database

        database(app).engine.dispose()
    finally:
        for remove in (broker.remove, redis.remove, pg.remove):
            remove()
