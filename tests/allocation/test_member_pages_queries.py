"""Member pages cost the same statements whatever the history: 1 month or 24 of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation.closing import close_and_publish
from catalog.models import Channel
from market.clock import month_start, period_of, shift_period, utcnow
from market.members.models import Member
from market.webdb import database
from tests.allocation.factories import open_round, pay_dues, vote
from tests.catalog.factories import make_channel
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]
PAGES = ["/", "/rounds/vote", "/rounds/my-dues", "/rounds/my-receipts", "/dues"]


@contextmanager
def _count(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = database(app).engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)


def _month(session: Session, app: Flask, audit_dir: Path, members: list[Member], k: int) -> None:
    """k months ago: these members paid and voted, the round (same channels) published."""
    period = shift_period(period_of(utcnow()), -k)
    when = month_start(period) + timedelta(hours=1)  # a month's round opens within it
    rnd, _ = open_round(session, period=period, now=when, channels=0)
    for member in members:
        pay_dues(session, member, period)
        vote(session, member, rnd, _split(session), now=when)
    session.commit()
    close_and_publish(database(app), rnd.id)


def _statements(app: Flask, client: FlaskClient) -> dict[str, int]:
    counts = {}
    for path in PAGES:
        assert client.get(path).status_code == 200, path  # warm: login, config, caches
        with _count(app) as statements:
            assert client.get(path).status_code == 200, path
        counts[path] = len(statements)
    return counts


def _split(session: Session) -> dict[int, int]:
    ids = sorted(session.scalars(select(Channel.id)))[:2]
    return {ids[0]: 6000, ids[1]: 4000}


def test_member_pages_cost_the_same_at_one_month_and_at_24(
    app: Flask, audit_dir: Path, session: Session, login: Login
) -> None:
    old, new = make_member(session), make_member(session)
    make_channel(session, name="First")
    make_channel(session, name="Second")
    for k in range(24, 1, -1):
        _month(session, app, audit_dir, [old], k)
    _month(session, app, audit_dir, [old, new], 1)  # new joined last month
    for member in (old, new):
        pay_dues(session, member, period_of(utcnow()))
    rnd, _ = open_round(session, channels=0)  # this month's, open; both voted in it
    for member in (old, new):
        vote(session, member, rnd, _split(session))
    session.commit()
    one = _statements(app, login(new, app.test_client()))
    many = _statements(app, login(old, app.test_client()))
    assert one == many
    assert max(many.values()) <= 20, many  # the home page gathers a card from each package
