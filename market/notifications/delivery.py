"""Deliver the outbox: by SMTP when SMTP_HOST is set, else print to the console."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Protocol

import click
from flask import Flask

from market.db import utcnow
from market.notifications import services
from market.notifications.models import OutboxMessage
from market.webdb import database


class Sender(Protocol):
    """Something that delivers one message or raises."""

    def __call__(self, message: OutboxMessage) -> None: ...


def console_sender(message: OutboxMessage) -> None:
    """Print the message (development: no SMTP server configured)."""
    click.echo(f"--- To: {message.to_email}\nSubject: {message.subject}\n\n{message.body}\n")


@dataclass
class SmtpSender:
    """One SMTP connection for a whole run, opened on the first message."""

    host: str
    port: int
    from_address: str
    timeout: float = 30.0
    _smtp: smtplib.SMTP | None = field(default=None, init=False)

    def __call__(self, message: OutboxMessage) -> None:
        email = EmailMessage()
        email["From"] = self.from_address
        email["To"] = message.to_email
        email["Subject"] = message.subject
        email.set_content(message.body)
        if self._smtp is None:
            self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        self._smtp.send_message(email)

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if self._smtp is not None:
            self._smtp.quit()
            self._smtp = None


@dataclass
class DeliveryReport:
    """What one run of the sender did."""

    sent: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)


def deliver_pending(app: Flask, sender: Sender, limit: int = 1000) -> DeliveryReport:
    """Send unsent messages, each in its own transaction: claimed, sent, then committed.

    A message whose sending raises is rolled back to unsent and retried by the next run.
    The only window for a duplicate is a crash after the SMTP server accepted the message
    and before the commit; no two senders ever both send one.
    """
    db = database(app)
    with db.transaction() as session:
        ids = services.unsent_ids(session, limit)
    report = DeliveryReport()
    for message_id in ids:
        try:
            with db.transaction() as session:
                message = services.claim_message(session, message_id, utcnow())
                if message is not None:  # None: another sender got it first
                    sender(message)
        except (OSError, smtplib.SMTPException) as exc:
            report.failed.append((message_id, str(exc)))
            continue
        if message is not None:
            report.sent += 1
    return report


def send_pending(app: Flask, limit: int = 1000) -> DeliveryReport:
    """Deliver the outbox by SMTP (SMTP_HOST), or print it when no SMTP host is set."""
    host = app.config.get("SMTP_HOST")
    if host:
        with SmtpSender(host, app.config["SMTP_PORT"], app.config["SMTP_FROM"]) as smtp:
            return deliver_pending(app, smtp, limit)
    return deliver_pending(app, console_sender, limit)
