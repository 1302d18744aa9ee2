"""Email through a real local SMTP server: preferences, digest, unsubscribe, TLS, retry cap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.members.models import Member
from market.notifications.delivery import send_pending
from market.notifications.models import Notification, NotificationPreference, OutboxMessage
from market.notifications.preferences import save_choices, set_digest
from market.notifications.services import notify_many
from tests.market.factories import make_member
from tests.market.smtp_server import SmtpConfig, SmtpServer, self_signed

Login = Callable[..., FlaskClient]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(SmtpConfig()) as server:
        yield server


def _smtp_app(make_app: Callable[..., Flask], server: SmtpServer, **extra: object) -> Flask:
    return make_app(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=server.port,
        BASE_URL="https://coop.example",
        SMTP_TIMEOUT_SECONDS=10,
        **extra,
    )


def _outcome(session: Session, members: list[Member]) -> None:
    notify_many(
        session,
        members,
        "proposal.outcome",
        "The outcome of a proposal is written",
        "Read it on the proposal's page.",
        "/decisions/1",
    )
    session.commit()  # a savepoint: visible to the sender's own transactions


def _send(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["notifications", "send"])
    return result.exit_code, result.output


def test_send_honours_each_members_preferences(
    make_app: Callable[..., Flask], smtp: SmtpServer
) -> None:
    app = _smtp_app(make_app, smtp)
    from market.webdb import database

    session = database(app).writer()
    plain, quiet, daily, no_inbox = (make_member(session) for _ in range(4))
    save_choices(session, quiet, inbox={"proposal.outcome"}, email=set(), digest=False)
    set_digest(session, daily.id, True)
    save_choices(session, no_inbox, inbox=set(), email={"proposal.outcome"}, digest=False)
    _outcome(session, [plain, quiet, daily, no_inbox])
    code, output = _send(app)
    assert code == 0, output
    assert sorted(r for m in smtp.received for r in m.recipients) == sorted(
        [plain.email, no_inbox.email]
    )
    first = smtp.received[0].message
    assert first["List-Unsubscribe"].startswith("<https://coop.example/unsubscribe/")
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Stop these emails: https://coop.example/unsubscribe/" in first.get_payload()
    shown = session.scalars(
        select(Notification.member_id).where(Notification.shown, Notification.kind != "x")
    ).all()
    assert no_inbox.id not in shown and {plain.id, quiet.id, daily.id} <= set(shown)
    # The digest member's message waits for tomorrow's run, then comes as one digest.
    _outcome(session, [daily])
    report = send_pending(app, now=utcnow() + timedelta(days=1))
    assert report.digests == 1 and report.sent == 1
    digest = smtp.received[-1]
    assert digest.recipients == [daily.email]
    assert "Your daily digest: 2 notice(s)" in digest.message["Subject"]
    assert digest.message["List-Unsubscribe"]
    assert _send(app)[1].startswith("notifications: 0 sent")
    session.close()


def test_one_click_unsubscribe_stops_that_kind(
    make_app: Callable[..., Flask], smtp: SmtpServer
) -> None:
    app = _smtp_app(make_app, smtp)
    from market.webdb import database

    session = database(app).writer()
    member = make_member(session)
    _outcome(session, [member])
    assert _send(app)[0] == 0
    url = smtp.received[0].message["List-Unsubscribe"].strip("<>")
    path = urlsplit(url).path
    anonymous = app.test_client()
    asked = anonymous.get(path)
    assert asked.status_code == 200 and "Stop these emails" in asked.get_data(as_text=True)
    pref = session.get(NotificationPreference, (member.id, "proposal.outcome"))
    assert pref is None  # a GET (a mail scanner) changes nothing
    done = anonymous.post(path, data="List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "Done" in done.get_data(as_text=True)
    session.expire_all()
    assert session.get(NotificationPreference, (member.id, "proposal.outcome")).email is False  # type: ignore[union-attr]
    _outcome(session, [member])
    assert _send(app)[1].startswith("notifications: 0 sent")
    assert anonymous.post(path[:-3] + "abc").status_code == 404
    assert anonymous.get("/unsubscribe/not-a-token").status_code == 404
    session.close()


def test_starttls_with_login(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    cert, context = self_signed(tmp_path)
    cfg = SmtpConfig(user="coop", password="s3cret", tls_context=context)
    with SmtpServer(cfg) as server:
        app = _smtp_app(
            make_app, server, SMTP_SECURITY="starttls", SMTP_USERNAME="coop",
            SMTP_PASSWORD="s3cret", SMTP_CA_FILE=str(cert),
        )  # fmt: skip
        from market.webdb import database

        session = database(app).writer()
        _outcome(session, [make_member(session)])
        code, output = _send(app)
        assert code == 0, output
        [got] = server.received
        assert got.tls and got.user == "coop"
        session.close()


def test_implicit_tls(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    cert, context = self_signed(tmp_path)
    with SmtpServer(SmtpConfig(tls_context=context, implicit_tls=True)) as server:
        app = _smtp_app(make_app, server, SMTP_SECURITY="ssl", SMTP_CA_FILE=str(cert))
        from market.webdb import database

        session = database(app).writer()
        _outcome(session, [make_member(session)])
        assert _send(app)[0] == 0
        assert [m.tls for m in server.received] == [True]
        session.close()


def test_wrong_password_fails_and_is_retried(make_app: Callable[..., Flask]) -> None:
    with SmtpServer(SmtpConfig(user="coop", password="right")) as server:
        app = _smtp_app(make_app, server, SMTP_USERNAME="coop", SMTP_PASSWORD="wrong")
        from market.webdb import database

        session = database(app).writer()
        _outcome(session, [make_member(session)])
        code, output = _send(app)
        assert code == 1 and "1 failed" in output and server.received == []
        session.close()


def test_a_bad_address_is_given_up_after_the_cap(
    make_app: Callable[..., Flask], smtp: SmtpServer
) -> None:
    app = _smtp_app(make_app, smtp, SMTP_MAX_ATTEMPTS=2)
    from market.webdb import database

    session = database(app).writer()
    bad = make_member(session, email="bounce@example.com")
    good = make_member(session)
    _outcome(session, [bad, good])
    code, output = _send(app)
    assert code == 1 and "1 sent, 1 failed" in output
    code, output = _send(app)
    assert code == 1 and "0 sent, 1 failed" in output and "given up" in output
    code, output = _send(app)
    assert code == 0 and "0 sent, 0 failed" in output
    assert [m.recipients for m in smtp.received] == [[good.email]]
    session.expire_all()
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_email == bad.email)
    ).one()
    assert message.attempts == 2 and message.gave_up_at is not None and message.sent_at is None
    assert "No such user" in (message.last_error or "")
    session.close()


def test_the_preferences_page(session: Session, login: Login) -> None:
    member = make_member(session)
    client = login(member)
    page = client.get("/inbox/settings").get_data(as_text=True)
    assert "A budget round or deal ballot opened" in page and "daily digest" in page
    assert "A vendor answered a deal" not in page  # for admins only
    saved = client.post(
        "/inbox/settings",
        data={"inbox": ["vote.opened"], "email": ["vote.closing"], "digest": "daily"},
    )
    assert saved.status_code == 302
    row = session.get(NotificationPreference, (member.id, "vote.opened"))
    assert row is not None and row.inbox and not row.email
    assert client.post("/inbox/settings", data={"inbox": ["nonsense"]}).status_code == 400
    session.expire_all()
    assert session.get(NotificationPreference, (member.id, "vote.opened")).inbox  # type: ignore[union-attr]
    page = client.get("/inbox/settings").get_data(as_text=True)
    assert 'value="daily" checked' in page
