"""Sessions end when they should: logout, password or email change, demotion, everywhere."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.members.models import Member
from market.notifications.models import OutboxMessage
from tests.market.factories import PASSWORD, login_as, make_member

NEW_PASSWORD = "a brand new password"


def _log_in(app: Flask, member: Member, remember: bool = False) -> FlaskClient:
    client = app.test_client()
    data = {"email": member.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302
    return client


def _copy(app: Flask, source: FlaskClient, *names: str) -> FlaskClient:
    """What a thief does with a stolen cookie: replay it from another browser."""
    thief = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def _logged_in(client: FlaskClient) -> bool:
    return client.get("/profile").status_code == 200


def test_a_copied_session_cookie_stops_working_at_logout(app: Flask, session: Session) -> None:
    member = make_member(session)
    browser = _log_in(app, member)
    thief = _copy(app, browser, "session")
    assert _logged_in(thief)
    browser.post("/logout")
    assert not _logged_in(browser)
    assert not _logged_in(thief)


def test_a_copied_remember_cookie_stops_working_at_logout(app: Flask, session: Session) -> None:
    member = make_member(session)
    browser = _log_in(app, member, remember=True)
    thief = _copy(app, browser, "remember_token")
    assert _logged_in(thief)
    browser.post("/logout")
    assert not _logged_in(thief)


def test_password_change_ends_every_other_session(app: Flask, session: Session) -> None:
    member = make_member(session)
    here, laptop = _log_in(app, member), _log_in(app, member, remember=True)
    stolen = _copy(app, laptop, "remember_token")
    changed = here.post(
        "/profile/password",
        data={"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(laptop) and not _logged_in(stolen)


def test_email_change_ends_every_other_session(app: Flask, session: Session) -> None:
    member = make_member(session)
    here, other = _log_in(app, member), _log_in(app, member)
    renamed = here.post("/profile", data={"email": "moved@example.com", "display_name": "N"})
    assert renamed.status_code == 302
    assert _logged_in(other)  # nothing ends until the new address confirms
    body = session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.to_email == "moved@example.com")
    ).one()
    confirm = re.search(r"https?://[^/\s]+(/email/confirm/\S+)", body)
    assert confirm is not None
    assert here.get(confirm.group(1)).status_code == 302
    assert _logged_in(here) and not _logged_in(other)
    # A name change alone ends nothing.
    session.refresh(member)
    again = _log_in(app, member)
    here.post("/profile", data={"email": "moved@example.com", "display_name": "Nia"})
    assert _logged_in(again)


def test_losing_admin_rights_ends_their_sessions(app: Flask, session: Session) -> None:
    boss = make_member(session, admin=True)
    demoted = make_member(session, admin=True)
    theirs = _log_in(app, demoted)
    assert theirs.get("/admin/").status_code == 200
    mine = login_as(app.test_client(), boss)
    done = mine.post(f"/admin/members/{demoted.id}", data={"member_class": "consumer"})
    assert done.status_code == 302
    assert theirs.get("/admin/").status_code == 302  # logged out, sent to the login page


def test_log_out_everywhere_from_the_profile(app: Flask, session: Session) -> None:
    member = make_member(session)
    phone, laptop = _log_in(app, member), _log_in(app, member, remember=True)
    page = phone.get("/profile").get_data(as_text=True)
    assert "Log out everywhere" in page and "1 other browser or device" in page
    assert phone.post("/profile/logout-everywhere").status_code == 302
    assert not _logged_in(phone) and not _logged_in(laptop)
    assert not _logged_in(_copy(app, laptop, "remember_token"))


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def test_session_and_csrf_token_rotate_at_login(
    make_app: Callable[..., Flask], session: Session
) -> None:
    app = make_app(WTF_CSRF_ENABLED=True)
    member = make_member(session)
    victim = app.test_client()
    planted = _token(victim.get("/login").get_data(as_text=True))  # the attacker's token
    before = victim.get_cookie("session")
    assert before is not None
    logged = victim.post(
        "/login", data={"email": member.email, "password": PASSWORD, "csrf_token": planted}
    )
    assert logged.status_code == 302
    forged = victim.post(
        "/profile", data={"email": "evil@example.com", "display_name": "X", "csrf_token": planted}
    )
    assert forged.status_code == 400 and "Form expired" in forged.get_data(as_text=True)
    fresh = _token(victim.get("/profile").get_data(as_text=True))
    assert fresh != planted
    ok = victim.post(
        "/profile", data={"email": member.email, "display_name": "Nia", "csrf_token": fresh}
    )
    assert ok.status_code == 302
    # The pre-login session cookie does not log anyone in.
    old = app.test_client()
    old.set_cookie("session", before.value)
    assert not _logged_in(old)


def test_sessions_work_on_every_host(make_app: Callable[..., Flask], session: Session) -> None:
    """Two app instances (two hosts) share the sessions: a logout on one is seen by the other."""
    one, two = make_app(), make_app()
    member = make_member(session)
    browser = _log_in(one, member)
    elsewhere = _copy(two, browser, "session")
    assert _logged_in(elsewhere)
    browser.post("/logout")
    assert not _logged_in(elsewhere)
