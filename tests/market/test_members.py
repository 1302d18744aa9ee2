from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from market.members.models import Member
from market.notifications.models import OutboxMessage
from tests.market.factories import PASSWORD, make_member


def count_members(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Member)) or 0


def signup(
    client: FlaskClient,
    email: str = "nia@example.com",
    name: str = "Nia",
    password: str = "a long enough pw",
) -> TestResponse:
    return client.post("/signup", data={"email": email, "display_name": name, "password": password})


def test_sign_up_makes_a_pending_consumer_who_then_logs_in(
    client: FlaskClient, session: Session
) -> None:
    response = signup(client, email="Nia@Example.COM")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    member = session.scalar(select(Member).where(Member.email == "nia@example.com"))
    assert member is not None
    assert (member.status, member.member_class, member.is_admin) == ("pending", "consumer", False)
    assert member.password_hash.startswith("$argon2id$")
    assert "check your inbox" in client.get("/login").get_data(as_text=True)
    ok = client.post("/login", data={"email": "nia@example.com", "password": "a long enough pw"})
    assert ok.status_code == 302
    assert "Nia" in client.get("/").get_data(as_text=True)


def test_sign_up_with_a_taken_email_answers_the_same_and_writes_no_account(
    client: FlaskClient, session: Session
) -> None:
    owner = make_member(session, email="taken@example.com", display_name="Owner")
    before = count_members(session)
    taken = signup(client, email="TAKEN@example.com")
    taken_page = client.get("/login").get_data(as_text=True)
    fresh = signup(client, email="fresh@example.com")
    fresh_page = client.get("/login").get_data(as_text=True)
    assert (taken.status_code, taken.headers["Location"]) == (302, "/login")
    assert (fresh.status_code, fresh.headers["Location"]) == (302, "/login")
    assert "already exists" not in taken_page
    assert taken_page.replace("fresh", "") == fresh_page.replace("fresh", "")
    assert count_members(session) == before + 1
    session.refresh(owner)
    assert owner.display_name == "Owner"  # the stranger's sign-up changed nothing
    mail = session.scalars(select(OutboxMessage.to_email).order_by(OutboxMessage.id)).all()
    # The owner is told someone tried; the new member is welcomed and asked to confirm.
    assert mail == ["taken@example.com", "fresh@example.com", "fresh@example.com"]


def test_bad_sign_up_input_writes_nothing(client: FlaskClient, session: Session) -> None:
    before = count_members(session)
    cases = [
        ({"email": "not-an-email"}, "not valid"),
        ({"password": "short"}, "at least 10"),
        ({"name": "x" * 81}, "80 characters"),
        ({"email": "a" * 300 + "@example.com"}, "254 characters"),
        ({"password": "p" * 300}, "256 characters"),
    ]
    for overrides, message in cases:
        response = signup(client, **overrides)  # type: ignore[arg-type]
        assert response.status_code == 400, overrides
        assert message in response.get_data(as_text=True), overrides
    assert count_members(session) == before


def test_login_logout_and_generic_failure(client: FlaskClient, session: Session) -> None:
    make_member(session, email="ada@example.com", display_name="Ada")
    bad = client.post("/login", data={"email": "ada@example.com", "password": "wrong password!"})
    unknown = client.post("/login", data={"email": "who@example.com", "password": PASSWORD})
    for response in (bad, unknown):
        assert response.status_code == 400
        assert "Email or password is not right." in response.get_data(as_text=True)
    ok = client.post(
        "/login?next=/profile", data={"email": "ADA@example.com", "password": PASSWORD}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/profile"
    assert client.get("/profile").status_code == 200
    client.post("/logout")
    assert client.get("/profile").status_code == 302


def test_login_next_cannot_leave_the_site(client: FlaskClient, session: Session) -> None:
    make_member(session, email="ada@example.com")
    ok = client.post(
        "/login?next=//evil.example/x", data={"email": "ada@example.com", "password": PASSWORD}
    )
    assert ok.headers["Location"] == "/"


def test_login_is_rate_limited(make_app: Callable[..., Flask], session: Session) -> None:
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [
        client.post("/login", data={"email": "x@example.com", "password": "nope nope"}).status_code
        for _ in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]
    assert "Too many failed login attempts" in client.post(
        "/login", data={"email": "x@example.com", "password": "nope"}
    ).get_data(as_text=True)


def test_edit_profile_and_change_password(
    client: FlaskClient, session: Session, login: Callable[[Member], FlaskClient]
) -> None:
    member = make_member(session)
    old_email = member.email
    make_member(session, email="other@example.com")
    login(member)
    clash = client.post("/profile", data={"email": "OTHER@example.com", "display_name": "N"})
    assert clash.status_code == 400
    saved = client.post("/profile", data={"email": "new@example.com", "display_name": " Nia  O "})
    assert saved.status_code == 302
    session.refresh(member)
    # The name now; the address once the new one confirms (tests/market/test_recovery.py).
    assert (member.email, member.display_name) == (old_email, "Nia O")

    wrong = client.post(
        "/profile/password",
        data={"current": "not it at all", "new": "brand new pw!", "confirm": "brand new pw!"},
    )
    assert wrong.status_code == 400 and "current password is not right" in wrong.get_data(True)
    ok = client.post(
        "/profile/password",
        data={"current": PASSWORD, "new": "brand new pw!", "confirm": "brand new pw!"},
    )
    assert ok.status_code == 302
    session.refresh(member)
    assert PasswordHasher().verify(member.password_hash, "brand new pw!")


def test_admin_lists_searches_promotes_and_sets_class(
    client: FlaskClient, session: Session, login: Callable[[Member], FlaskClient]
) -> None:
    admin = make_member(session, admin=True, display_name="Alex Admin")
    target = make_member(session, display_name="Zed Worker", email="zed@example.com")
    login(admin)
    page = client.get("/admin/members/?q=zed").get_data(as_text=True)
    assert "Zed Worker" in page and admin.email not in page
    response = client.post(
        f"/admin/members/{target.id}", data={"is_admin": "y", "member_class": "worker"}
    )
    assert response.status_code == 302
    session.refresh(target)
    assert target.is_admin and target.member_class == "worker"
    bad = client.post(f"/admin/members/{target.id}", data={"member_class": "overlord"})
    assert bad.status_code == 400
    assert client.get("/admin/members/999999").status_code == 404


def test_last_admin_cannot_demote_themselves(
    client: FlaskClient, session: Session, login: Callable[[Member], FlaskClient]
) -> None:
    admin = make_member(session, admin=True)
    login(admin)
    response = client.post(f"/admin/members/{admin.id}", data={"member_class": "consumer"})
    assert response.status_code == 400
    assert "at least one admin" in response.get_data(as_text=True)
    session.refresh(admin)
    assert admin.is_admin


def test_member_cannot_open_admin_pages(
    client: FlaskClient, session: Session, login: Callable[[Member], FlaskClient]
) -> None:
    login(make_member(session))
    assert client.get("/admin/members/").status_code == 403


STRONG = {"PASSWORD_TIME_COST": 3, "PASSWORD_MEMORY_KIB": 32768}


def _login_time(client: FlaskClient, email: str, password: str) -> float:
    times = []
    for _ in range(7):
        start = time.perf_counter()
        response = client.post("/login", data={"email": email, "password": password})
        times.append(time.perf_counter() - start)
        assert response.status_code == 400
    return statistics.median(times)


def test_login_takes_as_long_for_unknown_and_weakly_hashed_accounts(
    make_app: Callable[..., Flask], session: Session
) -> None:
    app = make_app(
        **STRONG, LOGIN_RATE_LIMIT="1000 per minute", LOGIN_ACCOUNT_RATE_LIMIT="1000/minute"
    )
    client = app.test_client()
    make_member(session, email="weak@example.com")  # hashed with the factories' weak parameters
    known = _login_time(client, "weak@example.com", "a wrong guess")
    unknown = _login_time(client, "nobody@example.com", "a wrong guess")
    assert known > 0.6 * unknown, (known, unknown)


def test_a_weak_hash_is_upgraded_at_login(make_app: Callable[..., Flask], session: Session) -> None:
    app = make_app(**STRONG)
    member = make_member(session, email="weak@example.com")
    hasher = PasswordHasher(time_cost=3, memory_cost=32768)
    assert hasher.check_needs_rehash(member.password_hash)
    ok = app.test_client().post("/login", data={"email": member.email, "password": PASSWORD})
    assert ok.status_code == 302
    session.refresh(member)
    assert not hasher.check_needs_rehash(member.password_hash)
    assert hasher.verify(member.password_hash, PASSWORD)
