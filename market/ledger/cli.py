"""`books check` (the ledger alone) and `check invariants` (everything registered)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from market.ledger.services import check_books
from market.webdb import database

books_cli = AppGroup("books", help="The co-op's books.")
check_cli = AppGroup("check", help="Invariant checks.")


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


@check_cli.command("invariants")
def check_invariants() -> None:
    """Run every registered invariant check; exit 1 if any fails."""
    from flask import current_app

    from market import invariants

    with database().transaction() as session:
        results = invariants.run_all(current_app, session)
    failed = False
    for name, problems in results.items():
        click.echo(f"{'ok  ' if not problems else 'FAIL'} {name}")
        for problem in problems[:20]:
            click.echo(f"       {problem}")
        failed = failed or bool(problems)
    sys.exit(1 if failed else 0)
