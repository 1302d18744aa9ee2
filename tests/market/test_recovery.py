"""Password reset, email verification and change of email: signed, expiring, single-use links."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.members.models import Member
from market.members.sessions import open_count
from market.notifications.models import OutboxMessage
from tests.market.factories import PASSWORD, login_as, make_member

NEW = "a brand new passphrase"


def _link(session: Session, to: str, path: str) -> str:
    """The path of the last link of this kind emailed to `to`."""
    bodies = session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.to_email == to).order_by(OutboxMessage.id)
    ).all()
    found = [m for body in bodies for m in re.findall(rf"https?://[^\s]+({path}[^\s]+)", body)]
    assert found, f"no {path} link was emailed to {to}"
    return found[-1]


def _mails(session: Session, to: str) -> int:
    return len(session.scalars(select(OutboxMessage).where(OutboxMessage.to_email == to)).all())


def test_a_reset_link_works_once_and_ends_every_session(app: Flask, session: Session) -> None:
    member = make_member(session, email="forgetful@example.com")
    session.commit()
    laptop = login_as(app.test_client(), member)
    client = app.test_client()
    asked = client.post("/password/forgot", data={"email": "Forgetful@Example.com"})
    assert asked.status_code == 302
    link = _link(session, "forgetful@example.com", "/password/reset/")
    assert client.get(link).status_code == 200
    done = client.post(link, data={"new": NEW, "confirm": NEW})
    assert done.status_code == 302
    session.expire_all()
    assert open_count(session, member.id) == 0
    assert laptop.get("/profile").status_code == 302  # logged out there too
    assert session.get(Member, member.id).email_verified_at is not None  # type: ignore[union-attr]
    # The link is spent: both its form and its POST refuse, and the password stays.
    again = client.get(link)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert (
        client.post(
            link, data={"new": "another one entirely", "confirm": "another one entirely"}
        ).status_code
        == 400
    )
    logged = client.post("/login", data={"email": "forgetful@example.com", "password": NEW})
    assert logged.status_code == 302
    bad = app.test_client().post(
        "/login", data={"email": "forgetful@example.com", "password": PASSWORD}
    )
    assert bad.status_code != 302


def test_asking_for_a_reset_never_says_who_has_an_account(app: Flask, session: Session) -> None:
    make_member(session, email="here@example.com")
    session.commit()
    answers = []
    for address in ("here@example.com", "nobody@example.com", "not an address"):
        client = app.test_client()
        got = client.post("/password/forgot", data={"email": address}, follow_redirects=True)
        answers.append((got.status_code, "If an account uses that address" in got.get_data(True)))
    assert answers[0] == answers[1] and answers[0][1]
    assert _mails(session, "here@example.com") == 1 and _mails(session, "nobody@example.com") == 0


def test_a_forged_stale_or_foreign_link_is_refused(app: Flask, session: Session) -> None:
    member = make_member(session, email="old@example.com")
    session.commit()
    client = app.test_client()
    with time_machine.travel(utcnow() - timedelta(hours=2), tick=False):
        client.post("/password/forgot", data={"email": "old@example.com"})
    stale = _link(session, "old@example.com", "/password/reset/")
    got = client.get(stale)
    assert got.status_code == 400 and "expired" in got.get_data(as_text=True)
    assert client.get(stale[:-3] + "abc").status_code == 400  # tampered
    # A verification token is not a reset token (each purpose signs apart).
    login_as(client, member)
    client.post("/profile/verify")
    verify = _link(session, "old@example.com", "/email/verify/")
    token = verify.rsplit("/", 1)[1]
    assert client.get(f"/password/reset/{token}").status_code == 400
    session.expire_all()
    assert session.get(Member, member.id).password_hash == member.password_hash  # type: ignore[union-attr]


def test_verification_confirms_the_address_once(app: Flask, session: Session) -> None:
    client = app.test_client()
    joined = client.post(
        "/signup",
        data={"email": "fresh@example.com", "display_name": "Fresh", "password": PASSWORD},
    )
    assert joined.status_code == 302
    member = session.scalars(select(Member).where(Member.email == "fresh@example.com")).one()
    assert member.email_verified_at is None
    link = _link(session, "fresh@example.com", "/email/verify/")
    assert client.get(link).status_code == 302
    session.expire_all()
    assert session.get(Member, member.id).email_verified_at is not None  # type: ignore[union-attr]
    again = client.get(link)
    assert again.status_code == 400 and "already" in again.get_data(as_text=True)


def test_a_new_email_changes_only_when_the_new_address_confirms(
    app: Flask, session: Session
) -> None:
    member = make_member(session, email="before@example.com")
    make_member(session, email="taken@example.com")
    session.commit()
    here, other = login_as(app.test_client(), member), login_as(app.test_client(), member)
    clash = here.post("/profile", data={"email": "TAKEN@example.com", "display_name": "N"})
    assert clash.status_code == 400
    asked = here.post("/profile", data={"email": "after@example.com", "display_name": "Nia O"})
    assert asked.status_code == 302
    session.expire_all()
    still = session.get(Member, member.id)
    assert still is not None and (still.email, still.display_name) == (
        "before@example.com",
        "Nia O",
    )
    assert _mails(session, "before@example.com") == 1  # the old address is told
    link = _link(session, "after@example.com", "/email/confirm/")
    assert here.get(link).status_code == 302
    session.expire_all()
    moved = session.get(Member, member.id)
    assert moved is not None and moved.email == "after@example.com" and moved.email_verified_at
    assert here.get("/profile").status_code == 200 and other.get("/profile").status_code == 302
    assert here.get(link).status_code == 400  # spent: the account no longer has the old address
