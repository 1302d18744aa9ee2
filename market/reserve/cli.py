"""`flask --app market reserve settle`: book the transfers of decisions that have closed."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from market.reserve.jobs import settle_closed
from market.webdb import database

reserve_cli = AppGroup("reserve", help="The acquisition reserve.")


@reserve_cli.command("settle")
def settle() -> None:
    """Book each closed spending decision that passed; safe to re-run (each books once)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for line in settle_closed(database(app)):
        click.echo(line)
