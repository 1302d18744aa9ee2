"""Inbox pages and the email outbox sender."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from market import create_app
from market.members.models import Member
from market.notifications.delivery import deliver_pending
from market.notifications.models import Notification, OutboxMessage
from market.notifications.services import notify
from market.webdb import database
from tests.market.factories import make_member
from tests.support import app_config

Login = Callable[..., FlaskClient]


def test_notify_fills_the_inbox_and_the_outbox(app: Flask, session: Session) -> None:
    member = make_member(session, display_name="Nia")
    with app.app_context():
        notify(session, member, "proposal.outcome", "Outcome: X", "We agreed.", "/decisions/1")
    message = session.scalars(select(OutboxMessage)).one()
    assert message.to_email == member.email and message.subject == "Outcome: X"
    assert message.body.startswith("Hello Nia,") and "/decisions/1" in message.body
    assert message.sent_at is None


def test_inbox_shows_unread_count_and_opening_marks_read(
    app: Flask, session: Session, login: Login
) -> None:
    member, other = make_member(session), make_member(session)
    note = notify(session, member, "test", "Hello there", "Body text", "/decisions/")
    theirs = notify(session, other, "test", "Not yours", "Secret")
    client = login(member)
    page = client.get("/inbox/").get_data(as_text=True)
    assert "Hello there" in page and "Not yours" not in page
    assert 'aria-label="1 unread"' in page
    response = client.post(f"/inbox/{note.id}/open")
    assert response.status_code == 302 and response.headers["Location"] == "/decisions/"
    assert 'aria-label="1 unread"' not in client.get("/inbox/").get_data(as_text=True)
    assert client.post(f"/inbox/{theirs.id}/open").status_code == 404
    session.refresh(theirs)
    assert theirs.read_at is None


def test_mark_all_read(session: Session, login: Login) -> None:
    member = make_member(session)
    for i in range(3):
        notify(session, member, "test", f"N{i}", "b")
    response = login(member).post("/inbox/read-all", follow_redirects=True)
    assert "Marked 3 notifications read." in response.get_data(as_text=True)
    unread = session.scalars(select(Notification).where(Notification.read_at.is_(None))).all()
    assert unread == []


def _queue(session: Session, n: int) -> list[Member]:
    members = [make_member(session) for _ in range(n)]
    for m in members:
        notify(session, m, "test", f"Subject {m.id}", "Body", base_url="https://coop.example")
    session.commit()  # a savepoint: visible to the sender's own transactions
    return members


def test_send_prints_without_smtp_and_sends_once(app: Flask, session: Session) -> None:
    _queue(session, 2)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["notifications", "send"])
    assert first.exit_code == 0, first.output
    assert first.output.count("--- To: ") == 2 and "2 sent, 0 failed" in first.output
    assert "0 sent" in runner.invoke(args=["notifications", "send"]).output
    assert all(m.sent_at for m in session.scalars(select(OutboxMessage)))


class FakeSMTP:
    sent: list[Any] = []
    fail_for: set[str] = set()

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port = host, port

    def send_message(self, message: Any) -> None:
        if message["To"] in self.fail_for:
            raise OSError("mailbox unavailable")
        FakeSMTP.sent.append((self.host, self.port, message["To"], message["Subject"]))

    def quit(self) -> None:
        pass


def test_send_by_smtp_keeps_failures_for_the_next_run(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(SMTP_HOST="mail.example.com", SMTP_PORT=2525)
    monkeypatch.setattr("smtplib.SMTP", FakeSMTP)
    FakeSMTP.sent = []
    session = database(app).writer()
    ok, bad = _queue(session, 2)
    FakeSMTP.fail_for = {bad.email}
    result = app.test_cli_runner().invoke(args=["notifications", "send"])
    assert result.exit_code == 1 and "1 sent, 1 failed" in result.output
    assert FakeSMTP.sent == [("mail.example.com", 2525, ok.email, f"Subject {ok.id}")]
    FakeSMTP.fail_for = set()
    assert "1 sent, 0 failed" in app.test_cli_runner().invoke(args=["notifications", "send"]).output
    assert [s[2] for s in FakeSMTP.sent] == [ok.email, bad.email]
    session.close()


def test_two_senders_never_send_one_message_twice(live_database: str) -> None:
    app = create_app(app_config(DATABASE_URL=live_database))
    db = database(app)
    with db.transaction() as s:
        for _ in range(3):
            notify(s, make_member(s), "test", "Hi", "Body", base_url="")
    delivered: list[int] = []
    lock = threading.Lock()

    def sender(message: OutboxMessage) -> None:
        with lock:
            delivered.append(message.id)

    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        deliver_pending(app, sender)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(delivered) == sorted(set(delivered)) and len(delivered) == 3
    db.engine.dispose()
