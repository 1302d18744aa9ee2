"""Plumbing shared by the benchmarks, the load test and the tests: real servers, real databases.

None of this runs in the app itself, and none of it ships: `bench` is not in the wheel.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from market import migrate
from market.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# `python -m gunicorn`, whose clock first follows a travelling test run (market.clock).
_GUNICORN = (
    "from market.clock import follow_offset; follow_offset(); "
    "from gunicorn.app.wsgiapp import run; run()"
)


def gunicorn_command(*args: str) -> list[str]:
    """The command line that runs gunicorn with `args`, on the test run's clock if it travels."""
    return [sys.executable, "-c", _GUNICORN, *args]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def psycopg_url(url: str) -> str:
    """The URL with the psycopg 3 driver named (postgresql:// alone means psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@contextmanager
def throwaway_postgres(base: str = DEFAULT_POSTGRES, prefix: str = "softcoop_") -> Iterator[str]:
    """A new, migrated PostgreSQL database on the server of `base`; dropped afterwards."""
    name = prefix + uuid.uuid4().hex[:10]
    admin = create_engine(psycopg_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(psycopg_url(base)).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def gunicorn(
    database_url: str,
    workers: int = 4,
    env: Mapping[str, str] | None = None,
    threads: int = 1,
    app: str = "market.wsgi:app",
) -> Iterator[str]:
    """The app under gunicorn (several processes, as in production); yields its base URL."""
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "not-secret-local-server",
        "INSECURE_COOKIES": "1",  # plain HTTP on localhost
        # Benchmarks measure the steady state: production's worker recycling (every ~2,000
        # requests, gunicorn.conf.py) restarted workers mid-run and made the last batches slow.
        "WEB_MAX_REQUESTS": "0",
        **(env or {}),
    }
    proc = subprocess.Popen(
        gunicorn_command(
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ),
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
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    # Four workers importing the app take over 30 s on a busy CI machine; this only bounds it.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn at {url} did not start")


def signed_login(app: Any, member_id: int) -> tuple[str, str]:
    """A session cookie for a logged-in member and a CSRF token that goes with it.

    Signed as flask-login and Flask-WTF would, so load clients skip the deliberately slow
    password check and the page fetch for a token.
    """
    from itsdangerous import URLSafeTimedSerializer

    from market.members.sessions import open_session
    from market.webdb import database

    with database(app).transaction() as session:  # a real server-side session row
        login_id = open_session(session, member_id)
    raw = secrets.token_hex(20)
    serializer = app.session_interface.get_signing_serializer(app)
    cookie = serializer.dumps({"_user_id": login_id, "_fresh": True, "csrf_token": raw})
    token = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
    return cookie, token
