"""Command-line jobs: `flask --app market <group> <command>`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from market import migrate
from market.webdb import database

db_cli = AppGroup("db", help="Database schema.")
demo_cli = AppGroup("demo", help="Demo data.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Create or migrate the database to the latest schema."""
    engine = database().engine
    migrate.upgrade(engine, revision)
    click.echo(f"Database at {engine.url.render_as_string()} is at {revision}.")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a migration from the models (developers only)."""
    migrate.revision(database().engine, message)


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when members already exist.")
def demo_load(if_empty: bool) -> None:
    """Load the demo co-op (Commons Software Co-op) through the real services."""
    from market import demo

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if if_empty:
        demo.ensure_loaded(app)
    else:
        demo.load(app)
        demo.print_logins()


def init_app(app: Flask) -> None:
    """Register the CLI groups."""
    from market import invariants
    from market.ledger.cli import books_cli, check_cli
    from market.ledger.services import check_books

    app.cli.add_command(db_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(books_cli)
    app.cli.add_command(check_cli)
    invariants.register(
        app, "ledger transactions sum to zero; balances match postings", check_books
    )
