"""Rate limits: failed logins per address and per account, and the forms that create things."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.deals.models import WantRequest
from market.proposals.models import Proposal
from tests.catalog.factories import make_channel
from tests.market.factories import PASSWORD, login_as, make_member

REDIS = "redis://127.0.0.1:6379"


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS, socket_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture(params=["memory", "redis"])
def limited_app(
    request: pytest.FixtureRequest, make_app: Callable[..., Flask]
) -> Callable[..., Flask]:
    """Apps whose limits are stored in memory, or in Redis as with several processes."""

    def build(**config: str) -> Flask:
        if request.param == "redis":
            if not _redis_up():
                pytest.skip("no Redis on 127.0.0.1:6379")
            config = {
                "RATELIMIT_STORAGE_URI": REDIS,
                "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # nothing from other runs
                **config,
            }
        return make_app(**config)

    return build


def _guess(app: Flask, address: str, email: str, password: str = "a wrong guess") -> int:
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )
    return response.status_code


def test_guesses_at_one_account_from_many_addresses_are_throttled(
    limited_app: Callable[..., Flask], session: Session
) -> None:
    app = limited_app(LOGIN_ACCOUNT_RATE_LIMIT="10 per 15 minutes")
    victim = make_member(session, email="victim@example.com")
    addresses = [f"10.0.0.{i}" for i in range(1, 6)]
    codes = [_guess(app, addresses[i % 5], "Victim@Example.com") for i in range(40)]
    assert codes[:10] == [400] * 10
    assert codes[10:] == [429] * 30  # 8 guesses per address: only the account limit stops them
    # Another account is not affected, from the same addresses.
    assert _guess(app, addresses[0], "someone@example.com") == 400
    assert victim.id


def test_successful_logins_are_never_counted(
    limited_app: Callable[..., Flask], session: Session
) -> None:
    app = limited_app(LOGIN_RATE_LIMIT="3 per minute", LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
    member = make_member(session)
    codes = [_guess(app, "10.0.0.9", member.email, PASSWORD) for _ in range(6)]
    assert codes == [302] * 6
    failures = [_guess(app, "10.0.0.9", "nobody@example.com") for _ in range(4)]
    assert failures == [400, 400, 400, 429]


def test_sign_up_is_rate_limited_per_address(
    limited_app: Callable[..., Flask], session: Session
) -> None:
    app = limited_app(SIGNUP_RATE_LIMIT="2 per hour")
    client = app.test_client()
    codes = [
        client.post(
            "/signup",
            data={"email": f"n{i}@example.com", "display_name": "N", "password": "long enough pw"},
        ).status_code
        for i in range(3)
    ]
    assert codes == [302, 302, 429]
    assert "Too many sign-ups" in client.post("/signup", data={}).get_data(as_text=True)


def test_password_changes_are_rate_limited_per_member(
    limited_app: Callable[..., Flask], session: Session
) -> None:
    app = limited_app(PASSWORD_RATE_LIMIT="3 per hour")
    client = login_as(app.test_client(), make_member(session))
    wrong = {"current": "not my password", "new": "another pw!!", "confirm": "another pw!!"}
    codes = [client.post("/profile/password", data=wrong).status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]


def test_wants_and_proposals_are_rate_limited_per_member(
    limited_app: Callable[..., Flask], session: Session
) -> None:
    app = limited_app(WANT_RATE_LIMIT="2 per hour", PROPOSAL_RATE_LIMIT="1 per hour")
    channel = make_channel(session)
    member, other = make_member(session), make_member(session)
    client = login_as(app.test_client(), member)
    asked = [
        client.post("/deals/wanted", data={"title": f"App {i}", "channel_id": channel.id})
        for i in range(3)
    ]
    assert [r.status_code for r in asked] == [302, 302, 429]
    assert session.scalar(select(func.count(WantRequest.id))) == 2
    closes = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    data = {"title": "T", "body": "B", "closes_at": closes, "results": "open"}
    assert client.post("/decisions/new", data=data).status_code == 302
    assert client.post("/decisions/new", data=data).status_code == 429
    # The limit is the member's, not everyone's behind the same address.
    mate = login_as(app.test_client(), other)
    assert mate.post("/decisions/new", data=data).status_code == 302
    assert session.scalar(select(func.count(Proposal.id))) == 2
    assert _ok(client)


def _ok(client: FlaskClient) -> bool:
    return client.get("/decisions/").status_code == 200
