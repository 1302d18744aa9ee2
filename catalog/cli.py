"""`flask --app market licences ...`: reclaim lapsed members' licences, import keys."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from catalog import claims, services
from catalog.imports import check_keys, store_keys
from market.errors import DomainError
from market.members.models import Member
from market.webdb import database

licences_cli = AppGroup("licences", help="Licence stock and claims.")


@licences_cli.command("reclaim")
def reclaim() -> None:
    """End the claims of members whose grace is over (safe to run again)."""
    with database().transaction() as session:
        ended = claims.reclaim(session)
    click.echo(f"Reclaimed {ended} licence(s) from members no longer in good standing.")


def _cli_admin() -> Member:
    # The command line speaks for the co-op's admins (whoever can run it runs the server).
    return Member(email="cli@localhost", display_name="command line", is_admin=True)


@licences_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--product", "product_id", type=int, required=True, help="Product id.")
@click.option("--skip-bad", is_flag=True, help="Import the valid rows, skip rejected ones.")
def import_cmd(file: Path, product_id: int, skip_bad: bool) -> None:
    """Import licence keys from a CSV file (all or nothing unless --skip-bad)."""
    try:
        with database().transaction() as session:
            product = services.get_product(session, product_id)
            check = check_keys(session, _cli_admin(), product, file.read_bytes())
            for row in check.rejected:
                click.echo(f"line {row.line}: rejected ({row.reason})", err=True)
            if check.rejected and not skip_bad:
                raise DomainError(
                    f"{len(check.rejected)} row(s) rejected; nothing imported "
                    "(fix the file, or pass --skip-bad to import the valid rows)."
                )
            with click.progressbar(length=len(check.good), label="Importing keys") as bar:
                count = store_keys(session, product, check.good, bar.update)
    except DomainError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"Imported {count} key(s) into {product.name}; rejected {len(check.rejected)}.")
