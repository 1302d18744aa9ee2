"""Deliver the outbox: by SMTP when SMTP_HOST is set, else print to the console.

Every email carries a one-click unsubscribe link (in the body and as `List-Unsubscribe`
with `List-Unsubscribe-Post`, RFC 8058). A message that fails is retried by later runs up
to SMTP_MAX_ATTEMPTS times and then given up, so one bad address does not fail every run.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Protocol

import click
from flask import Flask

from market.db import utcnow
from market.notifications import digest, services
from market.notifications.kinds import choosable
from market.notifications.models import OutboxMessage
from market.notifications.preferences import ALL, unsubscribe_token
from market.webdb import database

SECURITY = ("none", "starttls", "ssl")
# Unsubscribe URLs are one long token: folded at 78 columns they would turn into encoded
# words mail clients do not read as a URL, so headers may run to the RFC's 998.
HEADERS = policy.SMTP.clone(max_line_length=998)


class Sender(Protocol):
    """Something that delivers one message or raises."""

    def __call__(self, message: OutboxMessage) -> None: ...


def unsubscribe_url(config: Mapping[str, Any], message: OutboxMessage) -> str:
    """The message's one-click unsubscribe address (stops its kind, or all it can)."""
    kind = message.kind if choosable(message.kind) else ALL
    if message.member_id is None:
        kind = ALL
    token = unsubscribe_token(str(config["SECRET_KEY"]), message.member_id, message.to_email, kind)
    return f"{str(config.get('BASE_URL', '')).rstrip('/')}/unsubscribe/{token}"


def email_text(message: OutboxMessage, unsubscribe: str) -> str:
    """The email's text: the body, then the unsubscribe line."""
    return f"{message.body}\n\nStop these emails: {unsubscribe}\n"


def build_email(message: OutboxMessage, from_address: str, unsubscribe: str) -> EmailMessage:
    """The email as it goes out: the body, the unsubscribe line, the List-* headers."""
    email = EmailMessage(policy=HEADERS)
    email["From"] = from_address
    email["To"] = message.to_email
    email["Subject"] = message.subject
    email["List-Unsubscribe"] = f"<{unsubscribe}>"
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(email_text(message, unsubscribe))
    return email


@dataclass
class ConsoleSender:
    """Print the message (development: no SMTP server configured)."""

    config: Mapping[str, Any]

    def __call__(self, message: OutboxMessage) -> None:
        # The text as it would go out, without building the MIME message (a millisecond each:
        # a month's round notices to every member made it most of the schedule's time).
        unsubscribe = unsubscribe_url(self.config, message)
        click.echo(
            f"--- To: {message.to_email}\nSubject: {message.subject}\n"
            f"List-Unsubscribe: <{unsubscribe}>\n\n{email_text(message, unsubscribe)}"
        )


@dataclass
class SmtpSender:
    """One SMTP connection for a whole run, opened on the first message (again after an error)."""

    host: str
    port: int
    from_address: str
    config: Mapping[str, Any] = field(default_factory=dict)
    security: str = "none"  # none, starttls (port 587) or ssl (port 465)
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    _smtp: smtplib.SMTP | None = field(default=None, init=False)

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.config.get("SMTP_CA_FILE") or None)
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def __call__(self, message: OutboxMessage) -> None:
        email = build_email(message, self.from_address, unsubscribe_url(self.config, message))
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused:
            raise  # this address only: the connection is still good
        except (OSError, smtplib.SMTPException):
            self.close()  # the next message starts on a fresh connection
            raise

    def close(self) -> None:
        """Say goodbye to the server, if connected (errors on the way out do not matter)."""
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass
class DeliveryReport:
    """What one run of the sender did."""

    sent: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    gave_up: list[int] = field(default_factory=list)
    digests: int = 0


def deliver_pending(
    app: Flask,
    sender: Sender,
    limit: int = 1000,
    now: datetime | None = None,
) -> DeliveryReport:
    """Send unsent messages, each in its own transaction: claimed, sent, then committed.

    The day's digests are composed first. A message whose sending raises is rolled back to
    unsent, its failure counted in a transaction of its own, and retried by the next run
    until SMTP_MAX_ATTEMPTS. The only window for a duplicate is a crash after the SMTP
    server accepted the message and before the commit; no two senders ever both send one.
    """
    db = database(app)
    now = now or utcnow()
    report = DeliveryReport()
    with db.transaction() as session:
        report.digests = digest.compose_digests(session, now, str(app.config.get("BASE_URL", "")))
    with db.transaction() as session:
        ids = services.unsent_ids(session, limit)
    cap = max(1, int(app.config.get("SMTP_MAX_ATTEMPTS", 5)))
    for message_id in ids:
        try:
            with db.transaction() as session:
                message = services.claim_message(session, message_id, utcnow())
                if message is not None:  # None: another sender got it first
                    sender(message)
        except (OSError, smtplib.SMTPException) as exc:
            error = str(exc)[:1000] or type(exc).__name__
            with db.transaction() as session:
                if services.record_failure(session, message_id, error, cap, utcnow()):
                    report.gave_up.append(message_id)
            report.failed.append((message_id, error))
            continue
        if message is not None:
            report.sent += 1
    return report


def sender_for(app: Flask) -> SmtpSender | ConsoleSender:
    """The SMTP sender the settings describe, or the console when no SMTP_HOST is set."""
    config = app.config
    if not config.get("SMTP_HOST"):
        return ConsoleSender(config)
    security = str(config.get("SMTP_SECURITY", "none")).lower()
    if security not in SECURITY:
        raise ValueError(f"SMTP_SECURITY must be one of {', '.join(SECURITY)}, not {security!r}")
    return SmtpSender(
        config["SMTP_HOST"],
        int(config["SMTP_PORT"]),
        config["SMTP_FROM"],
        config,
        security=security,
        username=str(config.get("SMTP_USERNAME", "")),
        password=str(config.get("SMTP_PASSWORD", "")),
        timeout=float(config.get("SMTP_TIMEOUT_SECONDS", 30)),
    )


def send_pending(app: Flask, limit: int = 1000, now: datetime | None = None) -> DeliveryReport:
    """Deliver the outbox by SMTP (SMTP_HOST), or print it when no SMTP host is set."""
    sender = sender_for(app)
    if isinstance(sender, SmtpSender):
        with sender:
            return deliver_pending(app, sender, limit, now)
    return deliver_pending(app, sender, limit, now)
