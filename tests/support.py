"""Test infrastructure shared by conftest and tests: databases, servers, browsers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from werkzeug.serving import make_server

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


def skip_or_fail(reason: str) -> None:
    """Skip with a message, or fail when the run is strict (CI must not skip these)."""
    if STRICT:
        pytest.fail(f"{reason} (SOFTCOOP_STRICT=1 forbids skipping)")
    pytest.skip(reason)


def postgres_url() -> str | None:
    """The PostgreSQL URL for the suite, if any."""
    return os.environ.get("TEST_DATABASE_URL") or None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reset_postgres(url: str) -> None:
    """Empty the test database's public schema."""
    engine = create_engine(_psycopg(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _psycopg(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


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
    name = "softcoop_" + uuid.uuid4().hex[:10]
    admin = create_engine(_psycopg(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(_psycopg(base)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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


@dataclass
class LiveServer:
    """A real HTTP server on its own database."""

    url: str
    database_url: str
    app: Any


@contextmanager
def threaded_server(database_url: str, **config: Any) -> Iterator[LiveServer]:
    """Serve the app from a thread (one process, many threads)."""
    app = create_app(app_config(DATABASE_URL=database_url, **config))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", database_url, app)
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        from market.db import database

        database(app).engine.dispose()


@contextmanager
def gunicorn_server(
    database_url: str, workers: int = 4, env: dict[str, str] | None = None, threads: int = 1
) -> Iterator[str]:
    """Serve the app with gunicorn (several processes), as in production."""
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "INSECURE_COOKIES": "1",
        "PASSWORD_TIME_COST": "1",
        "PASSWORD_MEMORY_KIB": "8192",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "market.wsgi:app",
        ],
        cwd=ROOT,
        env=environ,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")


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


def signed_login(app: Any, member_id: int) -> tuple[str, str]:
    """A session cookie for a logged-in member and a CSRF token that goes with it.

    Built with the app's own signing (as flask-login and Flask-WTF would), so load tests
    skip the deliberately slow password check and the extra page fetch for a token.
    """
    import secrets

    from itsdangerous import URLSafeTimedSerializer

    raw = secrets.token_hex(20)
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = serializer.dumps({"_user_id": str(member_id), "_fresh": True, "csrf_token": raw})
    token = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
    return cookie, token


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
    from market.billing import fakestripe

    with fakestripe.running(free_port()) as url:
        yield url
