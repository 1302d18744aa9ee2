"""The public transactions feed, payouts under the month they pay for, accounts by name."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation import payouts
from allocation.closing import close_and_publish
from allocation.models import Payout, Round
from market.books import feed
from market.clock import month_start, period_of, shift_period, utcnow
from market.errors import DomainError
from market.ledger.models import LedgerTransaction
from market.ledger.services import PAID_OUT, balance, channel_code
from market.members.models import Member
from market.webdb import database
from tests.allocation.factories import open_round, pay_dues, vote
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _published(
    session: Session, app: Flask, audit_dir: Path, period: str, voter: Member
) -> tuple[Round, list]:
    """A round for `period` (opened within it) where `voter` gave the first channel all."""
    when = month_start(period) + timedelta(hours=1)
    rnd, chans = open_round(session, period=period, now=when, channels=["=Ravens", "Owls"])
    vote(session, voter, rnd, {chans[0].id: 10_000}, now=when + timedelta(minutes=1))
    session.commit()
    close_and_publish(database(app), rnd.id)
    return rnd, chans


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


@pytest.fixture
def last_month() -> str:
    return shift_period(period_of(utcnow()), -1)


def _book_a_month(session: Session, app: Flask, audit_dir: Path, month: str) -> tuple:
    """Two members pay `month`, its round gives the first channel all, an admin pays it."""
    alice, bob = make_member(session), make_member(session)
    invoices = [
        pay_dues(session, m, month, invoice_id=f"in_feed_{m.id}_{month}") for m in (alice, bob)
    ]
    _, chans = _published(session, app, audit_dir, month, alice)
    admin = make_member(session, admin=True)
    paid_on = utcnow().date()  # this month: the payout is for last month's round
    payouts.record_payout(session, admin, chans[0].id, 600, paid_on, "BANK-77", "usd")
    session.commit()
    return alice, bob, invoices, chans


def test_feed_lists_each_transaction_by_account_name_and_names_no_member(
    app: Flask, client: FlaskClient, session: Session, audit_dir: Path, last_month: str
) -> None:
    alice, bob, invoices, chans = _book_a_month(session, app, audit_dir, last_month)
    page = client.get("/books/transactions").get_data(as_text=True)
    assert "=Ravens — owed" in page and f"Pool {last_month}" in page
    assert "Operations reserve" in page and "Paid out" in page
    assert "Dues paid" in page and "Round split" in page and "Payout" in page
    assert "$4.50" in page and "$0.50" in page and "$9.00" in page and "$6.00" in page
    assert "Channel #" not in page
    for secret in [*invoices, alice.email, bob.email, alice.display_name, "BANK-77", "invoice"]:
        assert secret not in page, secret
    # The payout sent this month shows under the month it pays for.
    at = page.index(">Payout</td>")
    payout_row = page[page.rindex("<tr>", 0, at) : page.index("</tr>", at)]
    assert f">{last_month}</td>" in payout_row

    export = client.get("/books/transactions.csv")
    assert export.mimetype == "text/csv"
    body = export.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["kind"] for r in rows} == {"Dues paid", "Round split", "Payout"}
    assert all(r["month"] == last_month for r in rows)
    # A channel name starting with "=" cannot run as a formula in a spreadsheet.
    assert {r["to"] for r in rows if r["kind"] == "Round split"} == {"'=Ravens — owed"}
    cents = sum(int(r["amount"].replace(".", "")) for r in rows if r["kind"] == "Dues paid")
    assert cents == 1000
    for secret in [*invoices, alice.email, "BANK-77"]:
        assert secret not in body


def test_feed_pages_and_month_filter_cost_the_same_statements(
    app: Flask,
    client: FlaskClient,
    session: Session,
    last_month: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    members = [make_member(session) for _ in range(7)]
    for m in members:
        pay_dues(session, m, last_month)
    pay_dues(session, members[0], period_of(utcnow()))
    session.commit()
    monkeypatch.setattr(feed, "PER_PAGE", 3)
    client.get("/books/transactions")  # warm up
    counts = []
    for path in (
        "/books/transactions",
        "/books/transactions?page=3",
        f"/books/transactions?month={last_month}",
    ):
        with _count(app) as statements:
            assert client.get(path).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2] <= 8
    only = client.get(f"/books/transactions?month={last_month}").get_data(as_text=True)
    assert "7 transactions for" in only
    assert client.get("/books/transactions?page=99").status_code == 200  # the last page
    for bad in ("2026-13", "yesterday", "20261", "'; drop"):
        response = client.get(f"/books/transactions?month={bad}")
        assert response.status_code == 400, bad
        assert "YYYY-MM" in response.get_data(as_text=True)
    assert client.get("/books/transactions.csv?month=nope").status_code == 400


def test_books_show_a_payout_under_the_month_it_pays_for(
    app: Flask, client: FlaskClient, session: Session, audit_dir: Path, last_month: str
) -> None:
    _book_a_month(session, app, audit_dir, last_month)
    page = client.get("/books").get_data(as_text=True)
    last_row = page[page.index(f'<th scope="row">{last_month}</th>') :].split("</tr>")[0]
    assert last_row.count("$6.00") == 1  # paid out, under last month
    this_month = period_of(utcnow())
    if f'<th scope="row">{this_month}</th>' in page:
        row = page[page.index(f'<th scope="row">{this_month}</th>') :].split("</tr>")[0]
        assert "$6.00" not in row


def test_a_payout_for_a_month_without_a_published_round_is_refused(
    session: Session, app: Flask, audit_dir: Path, last_month: str, login: Login
) -> None:
    _, _, _, chans = _book_a_month(session, app, audit_dir, last_month)
    admin = make_member(session, admin=True)
    session.commit()
    before = session.scalar(select(func.count(LedgerTransaction.id)))
    owed = balance(session, channel_code(chans[0].id))
    future = shift_period(period_of(utcnow()), 1)
    for period in (future, period_of(utcnow()), "nonsense"):
        with pytest.raises(DomainError, match="published round"):
            payouts.record_payout(
                session, admin, chans[0].id, 100, utcnow().date(), f"X-{period}", "usd", period
            )
    client = login(admin)
    form = client.get("/admin/payouts/").get_data(as_text=True)
    assert f'<option value="{last_month}"' in form
    response = client.post(
        "/admin/payouts/",
        data={
            "channel_id": str(chans[0].id),
            "amount": "1.00",
            "paid_on": utcnow().date().isoformat(),
            "period": future,
            "reference": "BANK-FUTURE",
        },
    )
    assert response.status_code == 400 and "published round" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(LedgerTransaction.id))) == before
    assert balance(session, channel_code(chans[0].id)) == owed
    assert session.scalar(select(Payout.id).where(Payout.reference == "BANK-FUTURE")) is None
    assert balance(session, PAID_OUT) == 600


def test_admin_ledger_and_its_csv_name_channel_accounts(
    session: Session, app: Flask, audit_dir: Path, last_month: str, login: Login
) -> None:
    _, _, _, chans = _book_a_month(session, app, audit_dir, last_month)
    client = login(make_member(session, admin=True))
    page = client.get("/admin/ledger/").get_data(as_text=True)
    assert "=Ravens — owed" in page and "Channel #" not in page
    rows = list(
        csv.DictReader(io.StringIO(client.get("/admin/ledger/export.csv").get_data(as_text=True)))
    )
    named = {r["account"]: r["account_name"] for r in rows}
    assert named[channel_code(chans[0].id)] == "'=Ravens — owed"
    assert {r["period"] for r in rows} == {last_month}


def test_the_csv_streams_in_batches_with_every_move_once(session: Session, last_month: str) -> None:
    members = [make_member(session) for _ in range(5)]
    for m in members:
        pay_dues(session, m, last_month)
    session.flush()
    whole = "".join(feed.csv_lines(session, batch=1000))
    pieces = list(feed.csv_lines(session, batch=2))
    assert len(pieces) >= 3 and "".join(pieces) == whole
    rows = list(csv.DictReader(io.StringIO(whole)))
    assert len(rows) == 10  # each payment: to the pool and to the reserve
    assert len({r["number"] for r in rows}) == 5
