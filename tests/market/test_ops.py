"""Behind a load balancer: health checks, proxy headers, request ids and the request log."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from flask import Flask, jsonify, request, url_for
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from market import create_app
from market.auth import public
from market.ops import JsonFormatter
from tests.market.factories import make_member
from tests.support import app_config, free_port

Login = Callable[..., FlaskClient]


def test_healthz_answers_without_a_session_or_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert len(response.headers["X-Request-ID"]) == 32


def test_readyz_names_what_is_down() -> None:
    closed = free_port()
    app = create_app(app_config(
        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{closed}/none",
        REDIS_URL=f"redis://127.0.0.1:{closed}/0",
        CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{closed}//",
    ))  # fmt: skip
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json is not None and response.json["status"] == "unavailable"
    checks = response.json["checks"]
    assert set(checks) == {"database", "redis", "broker"}
    assert all(value.startswith("down: ") for value in checks.values()), checks


def test_readyz_is_ready_when_everything_answers(make_app: Callable[..., Flask]) -> None:
    try:
        import redis

        redis.Redis(socket_connect_timeout=1).ping()
    except Exception as exc:  # no Redis on this machine
        pytest.skip(f"no Redis on 127.0.0.1:6379: {exc}")
    app = make_app(REDIS_URL="redis://127.0.0.1:6379/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_health_checks_are_never_rate_limited(app: Flask) -> None:
    """The limiter's request filters skip the health checks (and only them) before counting."""
    from market.extensions import limiter

    def filtered(path: str) -> bool:
        with app.test_request_context(path):
            return any(skip() for skip in limiter._request_filters)

    assert filtered("/healthz") and filtered("/readyz")
    assert not filtered("/login") and not filtered("/catalogue")


def test_request_id_is_kept_when_sane_and_replaced_when_not(client: FlaskClient) -> None:
    assert client.get("/", headers={"X-Request-ID": "lb-42.a_b"}).headers["X-Request-ID"] == (
        "lb-42.a_b"
    )
    for forged in ("<script>", "a b", "x" * 65):
        got = client.get("/", headers={"X-Request-ID": forged}).headers["X-Request-ID"]
        assert got != forged and len(got) == 32


def test_one_log_line_per_request_with_member_route_and_database_work(
    client: FlaskClient, session: Session, login: Login, caplog: pytest.LogCaptureFixture
) -> None:
    member = make_member(session)
    login(member)
    with caplog.at_level(logging.INFO, logger="softcoop.request"):
        response = client.get("/catalogue", headers={"X-Request-ID": "req-1"})
    records = [r for r in caplog.records if r.name == "softcoop.request"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == "req-1" == response.headers["X-Request-ID"]
    assert line["member_id"] == member.id
    assert (line["method"], line["route"], line["status"]) == ("GET", "/catalogue", 200)
    assert line["db_statements"] > 0 and line["db_ms"] >= 0
    assert line["duration_ms"] >= line["db_ms"]


def _probe(app: Flask) -> None:
    @public
    def probe() -> ResponseReturnValue:
        return jsonify(client=request.remote_addr, url=url_for("probe", _external=True))

    app.add_url_rule("/_probe", "probe", probe)


def test_behind_a_trusted_proxy_the_client_and_external_urls_are_right(
    make_app: Callable[..., Flask],
) -> None:
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
               "X-Forwarded-Host": "coop.example"}  # fmt: skip
    trusting = make_app(TRUSTED_PROXIES=1)
    _probe(trusting)
    got = trusting.test_client().get("/_probe", headers=headers).json
    assert got == {"client": "203.0.113.9", "url": "https://coop.example/_probe"}

    direct = make_app()  # no proxy configured: forwarded headers are anyone's to forge
    _probe(direct)
    got = direct.test_client().get("/_probe", headers=headers).json
    assert got == {"client": "127.0.0.1", "url": "http://localhost/_probe"}


def test_a_login_while_redis_is_down_is_throttled_in_process_not_a_500(
    make_app: Callable[..., Flask],
) -> None:
    from market.config import from_env
    from tests.market.factories import PASSWORD

    defaults = {k: v for k, v in from_env({}).items() if k.startswith("RATELIMIT_")}
    app = make_app(**{**defaults, "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0",
                      "LOGIN_RATE_LIMIT": "3 per minute", "WTF_CSRF_ENABLED": False})  # fmt: skip
    client = app.test_client()
    form = {"email": "nobody@example.com", "password": PASSWORD}
    codes = [client.post("/login", data=form).status_code for _ in range(5)]
    assert 500 not in codes, codes
    assert codes[-1] == 429, codes  # the fallback still counts the failures
