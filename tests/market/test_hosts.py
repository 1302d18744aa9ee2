"""Several app hosts (gunicorn processes) behind one address share their state through Redis
and the database: a session made on one host works on the others, and the failed-login
throttle counts across them as if they were one."""

from __future__ import annotations

import re
import secrets
from contextlib import ExitStack

import requests

from market import create_app
from market.db import database
from tests.factories import PASSWORD, make_member
from tests.support import app_config, gunicorn_server, skip_or_fail

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _redis_or_skip() -> None:
    try:
        import redis

        redis.Redis(socket_connect_timeout=1).ping()
    except Exception as exc:  # a machine without Redis
        skip_or_fail(f"no Redis on 127.0.0.1:6379: {exc}")


def _login(http: requests.Session, host: str, email: str, password: str) -> int:
    token = TOKEN.search(http.get(f"{host}/login").text)
    assert token is not None
    form = {"csrf_token": token.group(1), "email": email, "password": password}
    return http.post(f"{host}/login", data=form, allow_redirects=False).status_code


def test_three_hosts_share_sessions_and_the_login_throttle(live_database: str) -> None:
    _redis_or_skip()
    app = create_app(app_config(DATABASE_URL=live_database))
    with database(app).transaction() as session:
        email = make_member(session).email
        target = make_member(session).email
    shared = {
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"test-{secrets.token_hex(6)}",  # this run's own counters
        "LOGIN_RATE_LIMIT": "10 per minute",
    }
    with ExitStack() as stack:
        hosts = [
            stack.enter_context(gunicorn_server(live_database, workers=1, env=shared))
            for _ in range(3)
        ]
        member = requests.Session()
        assert _login(member, hosts[0], email, PASSWORD) == 302
        for host in hosts:  # signed on host 0, valid on every host
            assert member.get(f"{host}/profile", allow_redirects=False).status_code == 200

        attacker = requests.Session()
        codes = [_login(attacker, hosts[i % 3], target, "wrong guess") for i in range(20)]
    # One address, 20 wrong passwords over three hosts: throttled as if on one host (each
    # host counting alone would have let all 20 through as 400s).
    assert codes.count(429) >= 10, codes
    assert set(codes) <= {400, 429}, codes
