"""Test infrastructure shared by conftest and tests: databases, servers, browsers."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from werkzeug.serving import make_server

from bench.serving import (  # noqa: F401  (re-exported for tests)
    free_port,
    gunicorn,
    psycopg_url,
    signed_login,
    throwaway_postgres,
)
from market import create_app, migrate
from market.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
STRICT = os.environ.get("SOFTCOOP_STRICT") == "1"
CHROMIUM = "/usr/bin/chromium"
FAST_HASH = {"PASSWORD_TIME_COST": 1, "PASSWORD_MEMORY_KIB": 8192}
WEBHOOK_SECRET = "whsec_test_softcoop"
STRIPE_KEYS = {
    "STRIPE_API_KEY": "sk_test_softcoop",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_softcoop",
    "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
}


def scrub_environment(environ: Any = os.environ) -> list[str]:
    """Remove the developer's app settings from the environment; returns their names.

    The app reads its settings from the environment, and the test servers inherit it: a
    shell with FLASK_DEBUG=1, SECRET_KEY, DATABASE_URL or STRIPE_API_KEY exported must run
    the suite exactly as a clean one. The names are the ones `from_env` asks for, so a new
    setting is scrubbed without anyone remembering to list it here.
    """
    from market.config import from_env

    asked: set[str] = set()

    class Spy(dict[str, str]):
        def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
            asked.add(key)
            return default

    from_env(Spy())
    names = sorted(n for n in environ if n in asked or n.startswith("FLASK_"))
    for name in names:
        del environ[name]
    return names


def skip_or_fail(reason: str) -> None:
    """Skip with a message, or fail when the run is strict (CI must not skip these)."""
    if STRICT:
        pytest.fail(f"{reason} (SOFTCOOP_STRICT=1 forbids skipping)")
    pytest.skip(reason)


def postgres_url() -> str | None:
    """The PostgreSQL URL for the suite, if any."""
    return os.environ.get("TEST_DATABASE_URL") or None


def reset_postgres(url: str) -> None:
    """Empty the test database's public schema."""
    engine = create_engine(psycopg_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@contextmanager
def fresh_database(backend: str, tmp: Path) -> Iterator[str]:
    """A brand-new, migrated database of the given backend; dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / ('live-' + uuid.uuid4().hex[:8] + '.db')}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    base = postgres_url()
    assert base, "no PostgreSQL configured"
    with throwaway_postgres(base) as url:
        yield url


def app_config(**overrides: Any) -> dict[str, Any]:
    """Settings every test app shares."""
    cfg: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "RATELIMIT_STORAGE_URI": "memory://",
        **FAST_HASH,
        **STRIPE_KEYS,
    }
    cfg.update(overrides)
    return cfg


def built(create: Callable[[dict[str, Any]], Any], cfg: dict[str, Any]) -> Any:
    """`create(cfg)`, tried a second time after CPython 3.11's spurious "AST constructor
    recursion depth mismatch" (python/cpython#106905: the AST builder's depth counter is
    shared, so another thread compiling code at that moment, such as a live server's thread
    compiling a template, can trip it). Building an app parses a few hundred URL rules with
    `ast.parse`; CI saw it fail there once in ~1,200 tests. Any other error is raised."""
    try:
        return create(cfg)
    except SystemError as exc:
        if "recursion depth mismatch" not in str(exc):
            raise
        return create(cfg)


@dataclass
class LiveServer:
    """A real HTTP server on its own database."""

    url: str
    database_url: str
    app: Any


@contextmanager
def threaded_server(database_url: str, **config: Any) -> Iterator[LiveServer]:
    """Serve the app from a thread (one process, many threads)."""
    app = built(create_app, app_config(DATABASE_URL=database_url, **config))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", database_url, app)
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        from market.webdb import database

        database(app).engine.dispose()


@contextmanager
def gunicorn_server(
    database_url: str, workers: int = 4, env: dict[str, str] | None = None, threads: int = 1
) -> Iterator[str]:
    """Serve the app with gunicorn (several processes), as in production, with test settings."""
    settings = {
        "SECRET_KEY": "test-secret",
        "PASSWORD_TIME_COST": "1",
        "PASSWORD_MEMORY_KIB": "8192",
        **(env or {}),
    }
    with gunicorn(database_url, workers, settings, threads) as url:
        yield url


def engine_for(backend: str, tmp: Path) -> Engine:
    """The session-wide test engine, freshly migrated (migrations are under test too)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'suite.db'}"
    else:
        url = postgres_url() or ""
        reset_postgres(url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


@contextmanager
def count_queries(engine: Engine) -> Iterator[list[str]]:
    """Collect the SQL statements run on `engine` inside the block."""
    from sqlalchemy import event

    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def localstripe() -> Iterator[str]:
    """A localstripe (fake Stripe) on a free port for the test session; yields its URL."""
    from bench import fakestripe

    with fakestripe.running(free_port()) as url:
        yield url
