"""`flask --app market notifications send`: deliver the email outbox."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from market.notifications.delivery import send_pending

notifications_cli = AppGroup("notifications", help="Member notifications and email.")


@notifications_cli.command("send")
@click.option("--limit", default=1000, show_default=True, help="Most messages in one run.")
def send(limit: int) -> None:
    """Send unsent emails by SMTP (SMTP_HOST), or print them when no SMTP host is set."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    report = send_pending(app, limit)
    click.echo(f"notifications: {report.sent} sent, {len(report.failed)} failed.")
    for message_id, error in report.failed:
        given_up = " (given up: too many attempts)" if message_id in report.gave_up else ""
        click.echo(f"  message {message_id}: {error}{given_up}", err=True)
    if report.digests:
        click.echo(f"notifications: {report.digests} daily digest(s) composed.")
    if report.failed:
        raise SystemExit(1)
