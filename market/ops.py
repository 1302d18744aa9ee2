"""Running behind a load balancer: proxy headers, health checks, one JSON log line a request.

Nothing here keeps state in the process: the request id travels in a header, the timings in
the request's context, and readiness asks the shared services themselves.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
import weakref
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine, event, text
from werkzeug.middleware.proxy_fix import ProxyFix

from market import trace
from market.auth import public
from market.extensions import limiter
from market.webdb import database

log = logging.getLogger("softcoop.request")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HEALTH_ENDPOINTS = {"healthz", "readyz"}


@dataclass
class Stats:
    """What one request spent in the database."""

    statements: int = 0
    seconds: float = 0.0


_timed: weakref.WeakSet[Engine] = weakref.WeakSet()
_stats: ContextVar[Stats | None] = ContextVar("softcoop_db_stats", default=None)


def request_id() -> str | None:
    """This request's id (also sent back as X-Request-ID and handed to the jobs it starts)."""
    return g.get("request_id")


def _time_statements(engine: Engine) -> None:
    """Count and time every statement on the engine into the current request's Stats (once)."""
    if engine in _timed:
        return
    _timed.add(engine)

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, _cursor: Any, _stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        conn.info.setdefault("softcoop.started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _end(conn: Any, _cursor: Any, _stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        started = conn.info.get("softcoop.started")
        stats = _stats.get()
        if started and stats is not None:
            stats.statements += 1
            stats.seconds += time.perf_counter() - started.pop()
        elif started:
            started.pop()


@limiter.request_filter
def _not_rate_limited() -> bool:
    """Health checks are never throttled: a balancer polls them from one address."""
    return request.endpoint in HEALTH_ENDPOINTS


def _begin_request() -> None:
    _time_statements(database().engine)
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
    # Log lines written for this request, and the jobs it enqueues, carry the id too.
    g.request_id_token = trace.set_request_id(g.request_id)
    g.request_started = time.perf_counter()
    g.request_stats_token = _stats.set(Stats())


def _end_request(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    stats = _stats.get() or Stats()
    started = g.get("request_started", time.perf_counter())
    from flask_login import current_user

    member_id = current_user.get_id() if current_user and current_user.is_authenticated else None
    record = {
        "request_id": g.get("request_id"),
        "member_id": int(member_id) if member_id and member_id.isdigit() else None,
        "client": request.remote_addr,
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule else None,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "db_ms": round(stats.seconds * 1000, 2),
        "db_statements": stats.statements,
    }
    log.info("request", extra={"fields": record})
    return response


def _forget_stats(_exc: BaseException | None) -> None:
    token = g.pop("request_stats_token", None)
    if token is not None:
        _stats.reset(token)
    id_token = g.pop("request_id_token", None)
    if id_token is not None:
        trace.reset_request_id(id_token)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and the record's `fields`, with
    the request id of the request (or the job run for one) that wrote it."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if data.get("request_id") is None and trace.current_request_id():
            data["request_id"] = trace.current_request_id()
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the app's loggers; the one place logging is set up."""
    root = logging.getLogger("softcoop")
    if any(getattr(h, "softcoop_json", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.softcoop_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())


@public
def healthz() -> ResponseReturnValue:
    """The process is up (no database, no session): for the balancer's liveness check."""
    return jsonify(status="ok")


def _check_database() -> None:
    # A read: never queue behind a writer (SQLite) to tell the balancer we are alive.
    with database().engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
        conn.execute(text("SELECT 1"))


def _check_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def _check_broker(url: str) -> None:
    from kombu import Connection

    with Connection(url, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1)


def dependencies(config: Any) -> dict[str, Any]:
    """What this host needs to serve, each mapped to its check (only those configured)."""
    checks: dict[str, Any] = {"database": _check_database}
    redis_urls = {
        config.get(name, "")
        for name in ("REDIS_URL", "RATELIMIT_STORAGE_URI")
        if str(config.get(name, "")).startswith(("redis://", "rediss://"))
    }
    for n, url in enumerate(sorted(redis_urls)):
        checks["redis" if n == 0 else f"redis{n + 1}"] = lambda url=url: _check_redis(url)
    broker = config.get("CELERY_BROKER_URL", "")
    if broker and not broker.startswith(("sqla+", "filesystem", "memory")):
        checks["broker"] = lambda: _check_broker(broker)
    return checks


@public
def readyz() -> ResponseReturnValue:
    """Database, Redis and broker reachable: 200, else 503 naming what is down."""
    results: dict[str, str] = {}
    for name, check in dependencies(current_app.config).items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the message says which
            results[name] = f"down: {type(exc).__name__}: {exc}"[:200]
    ready = all(v == "ok" for v in results.values())
    return jsonify(status="ready" if ready else "unavailable", checks=results), (
        200 if ready else 503
    )


def init_app(app: Flask) -> None:
    """Trust the configured proxy hops, add the health checks and the request log.

    Called before the database is wired, so that the log line (an after-request hook, run in
    reverse order) is written last and its duration includes the request's commit.
    """
    hops = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    app.before_request(_begin_request)
    app.after_request(_end_request)
    app.teardown_request(_forget_stats)
    if not app.testing:
        configure_logging(app.config.get("LOG_LEVEL", "INFO"))
