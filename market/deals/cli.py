"""`flask --app market deals settle [--deal ID]`: tip or lapse group buys, expire old deals."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from market.db import utcnow
from market.deals.settle_run import run_settle
from market.errors import DomainError
from market.webdb import database

deals_cli = AppGroup("deals", help="Vendor deals and group buys.")


@deals_cli.command("settle")
@click.option("--deal", "deal_id", type=int, default=None, help="Settle only this deal.")
def settle(deal_id: int | None) -> None:
    """Settle accepted deals (each in its own transaction) and expire finished terms."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        run = run_settle(database(app), app.config, utcnow(), deal_id)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    for line in run.lines:
        click.echo(line)
    for line in run.failed:
        click.echo(line, err=True)
    if run.failed:
        raise click.ClickException(f"{len(run.failed)} deal(s) could not be settled (see above).")
