"""Every page that shows a part of a member's fee shows what the books hold for that fee."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from allocation.closing import close_and_publish
from market.billing import news
from market.billing.services import DuesSettings
from market.clock import month_start, period_of, utcnow
from market.ledger.models import Account, LedgerTransaction, Posting
from market.ledger.services import RESERVE, pool_code
from market.members.models import Member
from market.money import Money, fee_split
from market.webdb import database
from tests.allocation.factories import open_round, vote
from tests.market.billing.stripe_fakes import invoice, make_dues_account
from tests.market.deals.factories import make_deal, make_want_request
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]
_seq = itertools.count(1)


@dataclass(frozen=True)
class Booked:
    """What the books hold for one member's fee, and the pages that show parts of it."""

    member: Member
    pool: Money
    reserve: Money
    token: str
    period: str


def booked_parts(
    session: Session, invoice_id: str, period: str, currency: str
) -> tuple[Money, Money]:
    """The pool and reserve postings of the dues transaction of one invoice."""
    rows = session.execute(
        select(Account.code, Posting.amount_cents)
        .join(Posting, Posting.account_id == Account.id)
        .join(LedgerTransaction, LedgerTransaction.id == Posting.txn_id)
        .where(LedgerTransaction.key == f"invoice:{invoice_id}")
    ).all()
    parts = dict(rows)
    return Money(parts.get(pool_code(period), 0), currency), Money(parts.get(RESERVE, 0), currency)


def pay_and_publish(
    app: Flask, session: Session, audit_dir: Path, fee: int, bp: int, currency: str
) -> Booked:
    """One member pays one fee this month and votes in the month's round, which is
    published; a deal answers a member request that three members want."""
    n = next(_seq)
    period = period_of(utcnow())
    member = make_member(session)
    account = make_dues_account(session, member, f"cus_fee_{n}")
    start = int(month_start(period).timestamp())
    bill = {**invoice(f"in_fee_{n}", f"cus_fee_{n}", amount=fee, period_start=start)}
    bill["currency"] = currency
    news.fulfil(session, account, seen_at=start, cfg=DuesSettings(fee, currency, bp), invoice=bill)
    rnd, channels = open_round(session, period=period, currency=currency)
    vote(session, member, rnd, {channels[0].id: 10_000})
    want = make_want_request(session, channels[0], wants=3)
    _, token = make_deal(session, channel=channels[0], stage="requested", want_request_id=want.id)
    session.commit()
    close_and_publish(database(app), rnd.id)
    pool, reserve = booked_parts(session, f"in_fee_{n}", period, currency)
    assert token is not None and pool + reserve == Money(fee, currency)
    return Booked(member, pool, reserve, token, period)


def assert_pages_show(app: Flask, login: Login, booked: Booked, locale: str) -> None:
    """Books, Where my dues went and the vendor's demand figure show the booked parts."""
    client = app.test_client()
    pool, reserve = booked.pool.format(locale), booked.reserve.format(locale)
    books = client.get("/books").get_data(as_text=True)
    assert f'<td class="num">{pool}</td>\n      <td class="num">{reserve}</td>' in books
    dues = login(booked.member, app.test_client()).get("/rounds/my-dues").get_data(as_text=True)
    assert f"→ {pool} to the {booked.period} pool and {reserve} to the operations reserve" in dues
    vendor = client.get(f"/vendor/deals/{booked.token}").get_data(as_text=True)
    assert f"({pool} each" in vendor and f"{(booked.pool * 3).format(locale)} a month" in vendor


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    return tmp_path / "audit"


def test_odd_fee_pages_show_the_booked_pool_part(
    make_app: Callable[..., Flask], session: Session, login: Login, audit_dir: Path
) -> None:
    """$4.99 at 15 %: the books put $4.24 in the pool and $0.75 in the reserve; so do pages."""
    app = make_app(MONTHLY_FEE_CENTS=499, OPS_SHARE_BP=1500)
    booked = pay_and_publish(app, session, audit_dir, 499, 1500, "usd")
    assert (booked.pool, booked.reserve) == (Money(424), Money(75))
    assert_pages_show(app, login, booked, "en_US")


# Currencies with 2, 0 and 3 decimals (Babel's precision): the app runs with any of them.
CURRENCIES = ["usd", "eur", "jpy", "krw", "kwd", "bhd"]
SHARES = st.one_of(st.sampled_from([0, 1, 1500, 5000, 9999, 10_000]), st.integers(0, 10_000))


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fee=st.integers(1, 10**7), bp=SHARES, currency=st.sampled_from(CURRENCIES))
@example(fee=499, bp=1500, currency="jpy")
@example(fee=500, bp=10_000, currency="usd")
@example(fee=1, bp=0, currency="kwd")
@example(fee=12_345, bp=3333, currency="bhd")
def test_every_page_shows_what_the_books_hold_for_a_fee(
    make_app: Callable[..., Flask],
    session: Session,
    login: Login,
    tmp_path: Path,
    fee: int,
    bp: int,
    currency: str,
) -> None:
    """Random fee, operations share and currency: Books, Where my dues went and the demand
    figure show the parts the dues booking put in the pool and the reserve."""
    audit_dir = tmp_path / f"audit{next(_seq)}"
    app = make_app(MONTHLY_FEE_CENTS=fee, OPS_SHARE_BP=bp, CURRENCY=currency)
    # Each example in its own savepoint (the reserve account holds one currency only),
    # opened on the test's connection before the session starts its own inside it.
    session.close()
    conn = session.get_bind()
    assert isinstance(conn, Connection)
    savepoint = conn.begin_nested()
    try:
        booked = pay_and_publish(app, session, audit_dir, fee, bp, currency)
        parts = fee_split(Money(fee, currency), bp)
        assert (booked.pool, booked.reserve) == (parts.pool, parts.reserve)
        assert_pages_show(app, login, booked, "en_US")
    finally:
        session.close()
        savepoint.rollback()
