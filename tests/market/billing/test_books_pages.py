"""The public Books page and the admin ledger with its CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from market.billing import news, services
from market.billing.services import DuesSettings
from market.clock import month_end, month_start, previous_period
from market.ledger.services import (
    CLEARING,
    PAID_OUT,
    Move,
    channel_code,
    pool_code,
    post,
    vendor_code,
)
from market.members.models import Member
from market.webdb import database
from tests.catalog.factories import make_channel
from tests.market.billing.stripe_fakes import (
    MONTH_START,
    THIS_MONTH,
    invoice,
    make_dues_account,
    months_ago,
)
from tests.market.factories import make_member

LAST_MONTH = previous_period(THIS_MONTH)


def _pay(session: Session, member: Member, month_start: int, n: int) -> None:
    account = services.account_by_customer(session, f"cus_books_{member.id}")
    if account is None:
        account = make_dues_account(session, member, f"cus_books_{member.id}")
    bill = invoice(f"in_books_{member.id}_{n}", f"cus_books_{member.id}", period_start=month_start)
    news.fulfil(session, account, seen_at=month_start, cfg=DuesSettings(), invoice=bill)
    session.commit()


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


def test_books_shows_each_month_without_names(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    alice = make_member(session, display_name="Alice Secret")
    bob = make_member(session, display_name="Bob Secret")
    _pay(session, alice, months_ago(1), 1)
    _pay(session, alice, MONTH_START, 2)
    _pay(session, bob, MONTH_START, 3)
    with _count_queries(app) as few:
        page = client.get("/books").get_data(as_text=True)
    assert THIS_MONTH in page and LAST_MONTH in page
    assert "$10.00" in page and "$9.00" in page and "$1.00" in page
    assert "Secret" not in page
    for n in range(4, 10):  # more months cost no more queries
        _pay(session, bob, months_ago(n), n)
    with _count_queries(app) as many:
        client.get("/books")
    assert len(many) == len(few) <= 10


def test_books_shows_each_channels_account(client: FlaskClient, session: Session) -> None:
    """Allocated by vote, spent on deals, paid out and still owed, from the ledger alone."""
    safe = make_channel(session, name="Safe & Private")
    ch, vendor = channel_code(safe.id), vendor_code(77)
    post(session, "t:dues", "dues", "d", [Move(CLEARING, pool_code(THIS_MONTH), 135_000)], "usd")
    post(session, "t:alloc", "allocation", "a", [Move(pool_code(THIS_MONTH), ch, 51_237)], "usd")
    post(session, "t:deal", "deal", "d", [Move(ch, vendor, 5_130)], "usd")
    post(session, "t:pay", "payout", "p", [Move(ch, PAID_OUT, 30_000)], "usd")
    session.commit()
    page = client.get("/books").get_data(as_text=True)
    row = page[page.index("Safe &amp; Private") :]
    for figure in ("$512.37", "$51.30", "$300.00", "$161.07"):
        assert figure in row.split("</tr>")[0], figure


def test_admin_ledger_filters_and_exports(
    app: Flask, session: Session, login: Callable[..., FlaskClient]
) -> None:
    member = make_member(session)
    _pay(session, member, MONTH_START, 1)
    _pay(session, member, months_ago(1), 2)
    admin = login(make_member(session, admin=True), app.test_client())
    page = admin.get("/admin/ledger/").get_data(as_text=True)
    assert f"pool:{THIS_MONTH}" in page and "reserve:ops" in page and "$1.00" in page
    narrowed = admin.get(f"/admin/ledger/?account=pool:{LAST_MONTH}").get_data(as_text=True)
    assert f"in_books_{member.id}_2" in narrowed
    assert f"in_books_{member.id}_1" not in narrowed
    first, last = month_start(THIS_MONTH), month_end(THIS_MONTH) - timedelta(days=1)
    dated = admin.get(f"/admin/ledger/?start={first:%Y-%m-%d}&end={last:%Y-%m-%d}").get_data(
        as_text=True
    )
    assert f"in_books_{member.id}_1" in dated and f"in_books_{member.id}_2" not in dated
    export = admin.get("/admin/ledger/export.csv?kind=dues")
    assert export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == 6
    assert sum(int(r["amount"].replace(".", "")) for r in rows) == 0
    assert {r["account"] for r in rows} == {
        "clearing:stripe",
        f"pool:{THIS_MONTH}",
        f"pool:{LAST_MONTH}",
        "reserve:ops",
    }
    member_client = login(member, app.test_client())
    assert member_client.get("/admin/ledger/export.csv").status_code == 403


def test_a_large_ledger_export_is_written_by_a_job_and_linked_when_ready(
    make_app: Callable[..., Flask], session: Session, login: Callable[..., FlaskClient]
) -> None:
    app = make_app(EXPORT_INLINE_TRANSACTIONS=1)  # more than one transaction: a job
    member = make_member(session)
    _pay(session, member, MONTH_START, 1)
    _pay(session, member, months_ago(1), 2)
    admin = login(make_member(session, admin=True), app.test_client())
    offer = admin.get("/admin/ledger/export.csv?kind=dues")
    assert offer.status_code == 200 and offer.mimetype == "text/html"
    assert "2 transactions" in offer.get_data(as_text=True)
    started = admin.post("/admin/ledger/exports?kind=dues")
    assert started.status_code == 302
    status_url = started.headers["Location"]
    page = admin.get(status_url).get_data(as_text=True)
    assert "Ready: 2 transactions" in page and "softcoop-ledger.csv" in page
    assert admin.get(status_url + "/progress.json").get_json()["done"]
    with admin.get(status_url + "/softcoop-ledger.csv") as download:
        assert download.status_code == 200 and download.mimetype == "text/csv"
        body = download.get_data(as_text=True)
    small = make_app(EXPORT_INLINE_TRANSACTIONS=100)
    inline = login(make_member(session, admin=True), small.test_client())
    assert body == inline.get("/admin/ledger/export.csv?kind=dues").get_data(as_text=True)
    assert len(list(csv.DictReader(io.StringIO(body)))) == 6
    member_client = login(member, app.test_client())
    assert member_client.get(status_url).status_code == 403
    assert member_client.post("/admin/ledger/exports").status_code == 403
