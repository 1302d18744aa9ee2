"""Where my dues went: each real payment, as booked, through its month's round to the channels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from allocation.ballots import abstain
from allocation.closing import close_and_publish
from allocation.models import Round
from market.clock import month_start, period_of, shift_period, utcnow
from market.ledger.services import Move, channel_code, post, vendor_code
from market.members.models import Member
from market.webdb import database
from tests.allocation.factories import fund_pool, open_round, pay_dues, vote
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _this_month() -> str:
    return period_of(utcnow())


def _published(
    session: Session, app: Flask, audit_dir: Path, period: str, voter: Member, split: list[int]
) -> tuple[Round, list]:
    """A round for `period` where only `voter` voted `split` (bp per channel), closed."""
    when = month_start(period) + timedelta(hours=1)  # a month's round opens within it
    rnd, chans = open_round(session, period=period, now=when)
    split_by_id = {c.id: bp for c, bp in zip(chans, split, strict=True) if bp}
    vote(session, voter, rnd, split_by_id, now=when + timedelta(minutes=1))
    fund_pool(session, period, 45_000)
    session.commit()
    close_and_publish(database(app), rnd.id)
    return rnd, chans


def test_new_member_sees_only_the_month_they_paid(
    session: Session, app: Flask, login: Login, audit_dir: Path
) -> None:
    old = make_member(session)
    last_month = shift_period(_this_month(), -1)
    _published(session, app, audit_dir, last_month, old, [5000, 3000, 2000])
    new = make_member(session)
    pay_dues(session, new, _this_month())
    session.commit()
    page = login(new).get("/rounds/my-dues").get_data(as_text=True)
    assert f"month-{_this_month()}" in page and f"month-{last_month}" not in page
    assert "Not yet voted" in page and "round closes on" in page
    assert "$4.50 to the" in page and "$0.50 to the operations reserve" in page


def test_member_who_never_paid_is_told_so(session: Session, login: Login) -> None:
    page = login(make_member(session)).get("/rounds/my-dues").get_data(as_text=True)
    assert "You have not paid any dues yet" in page and "Pay my dues" in page


def test_parts_follow_the_books_split_and_sum_to_the_pool_part(
    session: Session, app: Flask, login: Login, audit_dir: Path
) -> None:
    nia = make_member(session)
    month = shift_period(_this_month(), -1)
    # The books split this invoice 80/20 (a past setting); the page must show that, not 90/10.
    pay_dues(session, nia, month, cents=500, ops_share_bp=2000)
    _, chans = _published(session, app, audit_dir, month, nia, [3334, 3333, 3333])
    page = login(nia).get("/rounds/my-dues").get_data(as_text=True)
    assert "$4.00 to the" in page and "$1.00 to the operations reserve" in page
    # $4.00 by thirds: 134 + 133 + 133 cents, summing exactly to what went to the pool.
    assert page.count("$1.34") >= 2 and page.count("$1.33") >= 4
    assert "yours among them" in page


def test_history_newest_first_with_totals_deals_and_payouts(
    session: Session, app: Flask, login: Login, audit_dir: Path
) -> None:
    nia = make_member(session, admin=True)
    months = [shift_period(_this_month(), -k) for k in (2, 1)]
    for m in months:
        pay_dues(session, nia, m)
    _, chans = _published(session, app, audit_dir, months[0], nia, [10000, 0, 0])
    vendor = chans[1].id  # any id: the vendor account only needs a number
    post(
        session,
        "deal:77:settle",
        "deal",
        "Deal #77: Shelf seats, 50 seats",
        [Move(channel_code(chans[0].id), vendor_code(vendor), 1_000)],
        "usd",
    )
    session.commit()
    page = login(nia).get("/rounds/my-dues").get_data(as_text=True)
    assert page.index(f"month-{months[1]}") < page.index(f"month-{months[0]}")
    assert "$10.00</strong> in 2 months" in page
    assert "Deal #77: Shelf seats, 50 seats" in page and "/deals/77" in page


def test_each_month_says_whether_the_member_voted_abstained_or_not(
    session: Session, app: Flask, login: Login, audit_dir: Path
) -> None:
    nia, other = make_member(session), make_member(session)
    months = [shift_period(_this_month(), -k) for k in (3, 2, 1)]
    for m in months:
        pay_dues(session, nia, m)
    _published(session, app, audit_dir, months[0], other, [10000, 0, 0])  # nia did not vote
    when = month_start(months[1]) + timedelta(hours=1)
    rnd, chans = open_round(session, period=months[1], now=when)
    vote(session, nia, rnd, {chans[0].id: 10_000}, now=when)
    vote(session, nia, rnd, {chans[1].id: 10_000}, now=when + timedelta(minutes=1))  # changed
    session.commit()
    close_and_publish(database(app), rnd.id)
    when = month_start(months[2]) + timedelta(hours=1)
    rnd, chans = open_round(session, period=months[2], now=when)
    vote(session, other, rnd, {chans[0].id: 10_000}, now=when)
    abstain(session, nia, rnd.id, now=when + timedelta(minutes=1))
    session.commit()
    close_and_publish(database(app), rnd.id)
    page = login(nia).get("/rounds/my-dues").get_data(as_text=True)

    def section(month: str) -> str:
        return page.split(f'id="month-{month}"')[1].split("</section>")[0]

    assert "; you did not vote" in section(months[0])
    assert "2 ballots, yours among them" in section(months[1])  # hers (changed) and the other
    assert "; you abstained" in section(months[2])


@contextmanager
def _count_queries(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = database(app).engine

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)


def test_statement_count_does_not_grow_with_history(
    session: Session, app: Flask, login: Login, audit_dir: Path
) -> None:
    short, long = make_member(session), make_member(session)
    months = [shift_period(_this_month(), -k) for k in range(5, 0, -1)]
    for m in months:
        pay_dues(session, long, m)
        if m == months[-1]:  # paid before the round shares the pool out (later: next pool)
            pay_dues(session, short, m)
        _published(session, app, audit_dir, m, long, [5000, 5000, 0])
    session.commit()
    counts = []
    for member in (short, long):
        c = login(member)
        c.get("/rounds/my-dues")  # warm caches (login, config)
        with _count_queries(app) as statements:
            assert c.get("/rounds/my-dues").status_code == 200
        counts.append(len(statements))
    # The trail is five statements (payments, rounds with her ballot, results, deals,
    # payouts); the rest is the request's own (member, inbox badge).
    assert counts[0] == counts[1] <= 10
