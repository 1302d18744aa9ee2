"""Personal access tokens: made on the profile page, shown once, hashed, scoped, expiring."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.errors import Forbidden
from market.members import tokens
from market.members.models import ApiToken, Member
from tests.market.factories import bearer, make_member, make_token

TOKEN = re.compile(r"sc_[A-Za-z0-9_-]{43}")


def _make_on_page(client: FlaskClient, scope: str = "read", days: str = "30") -> str:
    page = client.post("/profile/tokens", data={"name": "my script", "scope": scope, "days": days})
    assert page.status_code == 200, page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    found = TOKEN.findall(page.get_data(as_text=True))
    assert len(found) == 1
    return found[0]


def test_made_on_the_profile_shown_once_and_stored_hashed(
    client: FlaskClient, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session)
    login(member)
    secret = _make_on_page(client)
    row = session.scalars(select(ApiToken).where(ApiToken.member_id == member.id)).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.token_hash, row.hint) and secret[3:9] == row.hint
    # Never again: the profile lists it by name and hint only.
    profile = client.get("/profile").get_data(as_text=True)
    assert "my script" in profile and secret not in profile and f"sc_{row.hint}" in profile
    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json is not None
    assert me.json["id"] == member.id and me.json["scope"] == "read"


def test_revoked_on_the_profile_stops_working(
    client: FlaskClient, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session)
    login(member)
    secret = _make_on_page(client, scope="member")
    row = session.scalars(select(ApiToken).where(ApiToken.member_id == member.id)).one()
    assert client.post(f"/profile/tokens/{row.id}/revoke").status_code == 303
    answer = client.get("/api/v1/me", headers=bearer(secret))
    assert answer.status_code == 401
    assert answer.json is not None and answer.json["type"] == "urn:softcoop:problem:invalid-token"
    # Someone else's token is not found, and stays live.
    other = make_member(session)
    theirs = make_token(session, other)
    their_row = session.scalars(select(ApiToken).where(ApiToken.member_id == other.id)).one()
    assert client.post(f"/profile/tokens/{their_row.id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers=bearer(theirs)).status_code == 200


def test_admin_scope_only_for_admins(
    client: FlaskClient, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session)
    login(member)
    refused = client.post("/profile/tokens", data={"name": "x", "scope": "admin", "days": "30"})
    assert refused.status_code == 400 and not TOKEN.search(refused.get_data(as_text=True))
    with pytest.raises(Forbidden):
        tokens.create(session, member, "x", "admin", 30)
    assert session.scalars(select(ApiToken).where(ApiToken.member_id == member.id)).all() == []


def test_a_demoted_admins_token_loses_the_admin_scope(app: Flask, session: Session) -> None:
    admin = make_member(session, admin=True)
    secret = make_token(session, admin, "admin")
    client = app.test_client()
    assert client.get("/api/v1/admin/members", headers=bearer(secret)).status_code == 200
    admin.is_admin = False
    session.flush()
    answer = client.get("/api/v1/admin/members", headers=bearer(secret))
    assert answer.status_code == 403
    assert answer.json is not None
    assert answer.json["type"] == "urn:softcoop:problem:insufficient-scope"


def test_tokens_expire(app: Flask, session: Session) -> None:
    member = make_member(session)
    secret = make_token(session, member, "read", days=7)
    client = app.test_client()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    with time_machine.travel(utcnow() + timedelta(days=7, seconds=1)):
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer sc_forged", "Bearer ", "Basic c2M6eA==", "Bearer " + "sc_" + "A" * 43, "sc_x"],
)
def test_bad_credentials_are_401_problems(client: FlaskClient, header: str) -> None:
    answer = client.get("/api/v1/me/claims", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_rate_limited_per_token(make_app: Callable[..., Flask], session: Session) -> None:
    app = make_app(API_RATE_LIMIT="5 per minute")
    one, two = make_member(session), make_member(session)
    first, second = make_token(session, one, "read"), make_token(session, two, "read")
    client = app.test_client()
    codes = [client.get("/api/v1/me", headers=bearer(first)).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    limited = client.get("/api/v1/me", headers=bearer(first))
    assert limited.json is not None
    assert limited.json["type"] == "urn:softcoop:problem:rate-limited"
    assert limited.mimetype == "application/problem+json" and "Retry-After" in limited.headers
    # Another token has its own budget.
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 200


def test_one_budget_per_token_across_operations(
    make_app: Callable[..., Flask], session: Session
) -> None:
    # Each operation counted apart would give a token one budget per operation.
    app = make_app(API_RATE_LIMIT="3 per minute")
    token = make_token(session, make_member(session), "read")
    client = app.test_client()
    paths = ["/api/v1/me", "/api/v1/me", "/api/v1/me/claims", "/api/v1/me/claims", "/api/v1/rounds"]
    codes = [client.get(path, headers=bearer(token)).status_code for path in paths]
    assert codes == [200, 200, 200, 429, 429]


def test_made_up_tokens_share_one_budget_per_address(
    make_app: Callable[..., Flask], session: Session
) -> None:
    # Each made-up token is a key of its own for the per-token budget: without a budget of
    # refusals per address (API tokens and vendor links alike), one address could try
    # tokens without end.
    app = make_app(BAD_TOKEN_RATE_LIMIT="3 per minute")
    member = make_member(session)
    good = make_token(session, member, "read")
    client = app.test_client()
    made_up = [f"sc_{'x' * 42}{i}" for i in range(4)]
    codes = [client.get("/api/v1/me", headers=bearer(t)).status_code for t in made_up[:2]]
    # A forged vendor link on the page is a refusal of the same budget: one per address.
    codes.append(client.get("/vendor/deals/forged-link").status_code)
    codes.append(client.get("/api/v1/me", headers=bearer(made_up[2])).status_code)
    assert codes == [401, 401, 404, 429]
    forged = client.get("/api/v1/vendor/deal", headers=bearer("forged-link"))
    assert forged.status_code == 429 and forged.mimetype == "application/problem+json"
    assert client.get("/vendor/deals/another-forged-link").status_code == 429

    # A good token's requests are not refusals, and another address has its own budget.
    def me(token: str, address: str) -> int:
        answer = client.get(
            "/api/v1/me", headers=bearer(token), environ_base={"REMOTE_ADDR": address}
        )
        return answer.status_code

    assert [me(good, "198.51.100.7") for _ in range(5)] == [200] * 5
    assert me(made_up[0], "198.51.100.7") == 401


def test_too_many_live_tokens_refused(session: Session) -> None:
    member: Member = make_member(session)
    for _ in range(tokens.MAX_LIVE):
        make_token(session, member, "read")
    with pytest.raises(Exception, match="revoke one first"):
        make_token(session, member, "read")


def test_deleting_the_account_ends_its_tokens(
    client: FlaskClient, session: Session, login: Callable[..., FlaskClient]
) -> None:
    from tests.market.factories import PASSWORD

    member = make_member(session)
    secret = make_token(session, member, "member")
    login(member)
    exported = client.get("/profile/data.json")
    assert exported.status_code == 200 and secret not in exported.get_data(as_text=True)
    assert '"scope": "member"' in exported.get_data(as_text=True).replace('":"', '": "')
    done = client.post("/profile/delete", data={"password": PASSWORD, "understood": "y"})
    assert done.status_code == 302
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert session.scalars(select(ApiToken).where(ApiToken.member_id == member.id)).all() == []
