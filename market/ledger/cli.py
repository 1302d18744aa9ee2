"""`flask --app market books check`: recompute every balance and verify the invariants."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from market.db import database
from market.ledger.services import check_books

books_cli = AppGroup("books", help="The co-op's books.")


@books_cli.command("check")
def books_check() -> None:
    """Verify that every transaction sums to zero and cached balances match postings."""
    with database().transaction() as session:
        problems = check_books(session)
    if problems:
        for problem in problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        sys.exit(1)
    click.echo("Books OK: every transaction sums to zero; every balance matches its postings.")
