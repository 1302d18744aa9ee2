"""`flask --app market deals settle [--deal ID]`: tip or lapse group buys, expire old deals."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from market.db import utcnow
from market.deals.settle import due_for_settling, expire_due, settle_deal
from market.errors import DomainError
from market.ledger.services import check_books
from market.webdb import database

deals_cli = AppGroup("deals", help="Vendor deals and group buys.")


@deals_cli.command("settle")
@click.option("--deal", "deal_id", type=int, default=None, help="Settle only this deal.")
def settle(deal_id: int | None) -> None:
    """Settle accepted deals (each in its own transaction) and expire finished terms."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db = database(app)
    cfg = app.config
    with db.transaction() as session:
        problems = check_books(session)
        ids = [deal_id] if deal_id is not None else due_for_settling(session)
    if problems:
        raise click.ClickException("The books do not balance; not settling: " + "; ".join(problems))
    failed = 0
    for one in ids:
        try:
            with db.transaction() as session:
                result = settle_deal(
                    session,
                    one,
                    currency=cfg["CURRENCY"],
                    ratify_above=cfg["RATIFY_ABOVE_CENTS"],
                    now=utcnow(),
                )
            click.echo(f"deal {one}: {result.outcome}. {result.message}")
        except DomainError as exc:
            failed += 1
            click.echo(f"deal {one}: refused. {exc.message}", err=True)
    if deal_id is None:
        with db.transaction() as session:
            for expired in expire_due(session):
                click.echo(f"deal {expired}: expired (its term is over).")
    with db.transaction() as session:
        problems = check_books(session)
    if problems:
        raise click.ClickException(
            "The books do not balance after settling: " + "; ".join(problems)
        )
    if failed:
        raise click.ClickException(f"{failed} deal(s) could not be settled (see above).")
