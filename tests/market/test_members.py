from __future__ import annotations

from collections.abc import Callable

from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from market.members.models import Member
from tests.factories import PASSWORD, make_member


def count_members(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Member)) or 0


def signup(
    client: FlaskClient,
    email: str = "nia@example.com",
    name: str = "Nia",
    password: str = "a long enough pw",
) -> TestResponse:
    return client.post("/signup", data={"email": email, "display_name": name, "password": password})


def test_sign_up_logs_in_as_pending_consumer(client: FlaskClient, session: Session) -> None:
    response = signup(client, email="Nia@Example.COM")
    assert response.status_code == 302
    member = session.scalar(select(Member).where(Member.email == "nia@example.com"))
    assert member is not None
    assert (member.status, member.member_class, member.is_admin) == ("pending", "consumer", False)
    assert member.password_hash.startswith("$argon2id$")
    assert "Nia" in client.get("/").get_data(as_text=True)


def test_duplicate_email_in_any_case_is_refused(client: FlaskClient, session: Session) -> None:
    make_member(session, email="taken@example.com")
    before = count_members(session)
    response = signup(client, email="TAKEN@example.com")
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert count_members(session) == before


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
    assert "Too many login attempts" in client.post(
        "/login", data={"email": "x@example.com", "password": "nope"}
    ).get_data(as_text=True)


def test_edit_profile_and_change_password(
    client: FlaskClient, session: Session, login: Callable[[Member], FlaskClient]
) -> None:
    member = make_member(session)
    make_member(session, email="other@example.com")
    login(member)
    clash = client.post("/profile", data={"email": "OTHER@example.com", "display_name": "N"})
    assert clash.status_code == 400
    saved = client.post("/profile", data={"email": "new@example.com", "display_name": " Nia  O "})
    assert saved.status_code == 302
    session.refresh(member)
    assert (member.email, member.display_name) == ("new@example.com", "Nia O")

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
