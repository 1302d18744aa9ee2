"""`flask --app market dues ...`: the lapse job and replaying parked webhook events."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from market.billing import services, webhooks
from market.webdb import database

dues_cli = AppGroup("dues", help="Members' dues.")


@dues_cli.command("lapse")
def dues_lapse() -> None:
    """Lapse past-due members whose grace period has ended (safe to run any number of times)."""
    with database().transaction() as session:
        count = services.lapse_overdue(session)
    click.echo(f"Lapsed {count} member(s) whose grace period ended.")


@dues_cli.command("replay")
def dues_replay() -> None:
    """Apply parked webhook events whose customer is now known."""
    with database().transaction() as session:
        count = webhooks.replay_parked(session, services.settings())
    click.echo(f"Applied {count} parked event(s).")
