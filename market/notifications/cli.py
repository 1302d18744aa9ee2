"""`flask --app market notifications send`: deliver the email outbox."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from market.notifications.delivery import SmtpSender, console_sender, deliver_pending

notifications_cli = AppGroup("notifications", help="Member notifications and email.")


@notifications_cli.command("send")
@click.option("--limit", default=1000, show_default=True, help="Most messages in one run.")
def send(limit: int) -> None:
    """Send unsent emails by SMTP (SMTP_HOST), or print them when no SMTP host is set."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    host = app.config.get("SMTP_HOST")
    if host:
        with SmtpSender(host, app.config["SMTP_PORT"], app.config["SMTP_FROM"]) as smtp:
            report = deliver_pending(app, smtp, limit)
    else:
        report = deliver_pending(app, console_sender, limit)
    click.echo(f"notifications: {report.sent} sent, {len(report.failed)} failed.")
    for message_id, error in report.failed:
        click.echo(f"  message {message_id}: {error}", err=True)
    if report.failed:
        raise SystemExit(1)
