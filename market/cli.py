"""Command-line jobs: `flask --app market <group> <command>`."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from market import migrate
from market.webdb import database

db_cli = AppGroup("db", help="Database schema.")
demo_cli = AppGroup("demo", help="Demo data.")
coop_cli = AppGroup("coop", help="The whole co-op in one archive, and back.")
PASSPHRASE_ENV = "SOFTCOOP_ARCHIVE_PASSPHRASE"


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


def _passphrase(needed: bool) -> str | None:
    if not needed:
        return None
    return os.environ.get(PASSPHRASE_ENV) or click.prompt(
        "Passphrase for the licence keys", hide_input=True, confirmation_prompt=False
    )


@coop_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--keys",
    type=click.Choice(["omit", "encrypt", "plain"]),
    default="omit",
    show_default=True,
    help=f"Licence key values: left out, sealed with a passphrase (${PASSPHRASE_ENV}), or plain.",
)
def coop_export(path: Path, keys: str) -> None:
    """Write every member, account, round, deal and decision to one archive."""
    from market import archive

    try:
        done = archive.export(database().engine, path, keys, _passphrase(keys == "encrypt"))
    except archive.ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Wrote {path}: {done.rows:,} rows of {done.tables} tables, "
        f"{done.rounds} audit files, licence keys {done.keys}."
    )


@coop_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def coop_import(path: Path) -> None:
    """Rebuild a co-op from an archive, on an empty database (migrated first)."""
    from market import archive

    engine = database().engine
    migrate.upgrade(engine)
    try:
        manifest_keys = archive.keys_of(path)
        done = archive.import_(engine, path, _passphrase(manifest_keys == "encrypt"))
    except archive.ArchiveError as exc:
        raise click.ClickException(f"{exc}. Nothing was imported.") from exc
    click.echo(
        f"Imported {path}: {done.rows:,} rows of {done.tables} tables; "
        f"{done.rounds} published rounds reproduce their hashes."
    )


def init_app(app: Flask) -> None:
    """Register the CLI groups."""
    from market import invariants
    from market.ledger.cli import books_cli, check_cli
    from market.ledger.services import check_books

    app.cli.add_command(db_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(coop_cli)
    app.cli.add_command(books_cli)
    app.cli.add_command(check_cli)
    invariants.register(
        app, "ledger transactions sum to zero; balances match postings", check_books
    )
