"""`flask --app market proposals close`: notify members of proposals that have closed."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from market.proposals.services import close_due
from market.webdb import database

proposals_cli = AppGroup("proposals", help="Decisions (proposals).")


@proposals_cli.command("close")
def close() -> None:
    """Mark proposals past their closing time as closed and notify once (safe to re-run)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with database(app).transaction() as session:
        closed = close_due(session)
        titles = [p.title for p in closed]
    for title in titles:
        click.echo(f"closed: {title}")
    click.echo(f"proposals: {len(titles)} newly closed.")
