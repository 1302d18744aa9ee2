"""`flask --app market rounds open|close|audit-file|recount`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from allocation import audit, rounds
from allocation import recount as recount_mod
from allocation.closing import close_and_publish
from allocation.models import Round, RoundResult, Rule
from market.errors import DomainError
from market.members.models import Member
from market.webdb import database

rounds_cli = AppGroup("rounds", help="Budget rounds: open, close and publish, recount.")


def _admin(session, email: str | None) -> Member:  # type: ignore[no-untyped-def]
    query = select(Member).where(Member.is_admin)
    if email:
        query = query.where(Member.email == email.lower())
    admin = session.scalar(query.order_by(Member.id).limit(1))
    if admin is None:
        raise click.ClickException("No such admin: the round is opened in an admin's name.")
    return admin


@rounds_cli.command("open")
@click.argument("period")
@click.option(
    "--rule", type=click.Choice([r.value for r in Rule]), default=Rule.INDEPENDENT_MARKETS.value
)
@click.option("--closes-on", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--admin", "admin_email", default=None, help="Whose name to open it in.")
def open_cmd(period: str, rule: str, closes_on: datetime | None, admin_email: str | None) -> None:
    """Open the round for PERIOD (e.g. 2026-11)."""
    closes_at = closes_on.replace(tzinfo=UTC) if closes_on else None
    try:
        with database().transaction() as session:
            rnd = rounds.open_round(
                session,
                _admin(session, admin_email),
                period,
                rule,
                closes_at,
                current_app.config["CURRENCY"],
            )
            click.echo(f"Opened round {rnd.id} for {rnd.period}: {rnd.eligible_count} eligible.")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


def _round_id(session, which: str) -> int:  # type: ignore[no-untyped-def]
    if which.isdigit():
        return int(which)
    rid = session.scalar(select(Round.id).where(Round.period == which))
    if rid is None:
        raise click.ClickException(f"No round {which}.")
    return int(rid)


@rounds_cli.command("close")
@click.argument("which")
def close_cmd(which: str) -> None:
    """Close and publish a round (id or period); safe to rerun after a crash."""
    db = database()
    with db.transaction() as session:
        rid = _round_id(session, which)
    try:
        report = close_and_publish(db, rid)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"Round {rid}: {report.status}, {report.ballots} ballots, "
        f"pool {report.pool_cents} cents, final hash {report.audit_head}"
    )
    for step, seconds in report.timings.items():
        click.echo(f"  {step:<10} {seconds:8.3f} s")


@rounds_cli.command("audit-file")
@click.argument("which")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def audit_file_cmd(which: str, out: Path) -> None:
    """Write a published round's audit file (from the database's file store) to OUT."""
    db = database()
    with db.reader() as session:  # a read: storing a missing file takes its own transaction
        rnd = session.get(Round, _round_id(session, which))
        if rnd is None or not rnd.audit_head:
            raise click.ClickException(f"Round {which} is not published.")
        audit.save_copy(session, audit.ensure_stored(db, session, rnd), out)
    click.echo(f"Wrote {out} (final hash {rnd.audit_head}).")


@rounds_cli.command("recount")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def recount_cmd(path: Path) -> None:
    """Recount a published audit FILE and compare with the published (and stored) outcome."""
    try:
        result = recount_mod.recount(path)
    except recount_mod.AuditFileError as exc:
        raise click.ClickException(str(exc)) from None
    for line in recount_mod.report(result):
        click.echo(line)
    ok = result.matches
    with database().transaction() as session:
        rnd = session.get(Round, result.audit.round_id)
        if rnd is not None:
            stored = dict(
                session.execute(
                    select(RoundResult.channel_id, RoundResult.cents).where(
                        RoundResult.round_id == rnd.id
                    )
                ).all()
            )
            same_db = [stored.get(c, 0) for c in result.audit.channel_ids] == result.cents
            same_head = rnd.audit_head == result.audit.head
            click.echo(
                f"Database: outcome {'matches' if same_db else 'DIFFERS'}, final hash "
                f"{'matches' if same_head else 'DIFFERS'}."
            )
            ok = ok and same_db and same_head
    sys.exit(0 if ok else 1)
