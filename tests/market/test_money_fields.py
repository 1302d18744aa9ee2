"""Every amount an admin or vendor types is read exactly, or refused with a reason.

Through the HTTP forms: a refused amount is a 400 with the reason on the page, and nothing
is written (no payout, no ledger transaction, no offer).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation.closing import close_and_publish
from allocation.models import Payout
from market.clock import period_of, utcnow
from market.deals.models import DealOffer
from market.ledger.models import LedgerTransaction
from market.ledger.services import balance, channel_code
from market.webdb import database
from tests.allocation.factories import fund_pool, open_round, vote
from tests.market.deals.factories import make_deal
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]

# What people type that must never be booked as something else, and why it is refused.
BAD_AMOUNTS = {
    "1.005": "at most 2 decimal places",
    "12.345": "at most 2 decimal places",
    "0.001": "at most 2 decimal places",
    "NaN": "not an amount",
    "sNaN": "not an amount",
    "-NaN": "not an amount",
    "Infinity": "not an amount",
    "-Infinity": "not an amount",
    "inf": "not an amount",
    "1e5": "not an amount",
    "1E-2": "not an amount",
    "0x10": "not an amount",
    "1_000": "not an amount",
    "1,23": "not an amount",
    "12.3.4": "not an amount",
    "twelve": "not an amount",
    "-1.00": "cannot be negative",
    "-0.01": "cannot be negative",
    "92233720368547758.08": "too large",
    "1" + "0" * 30: "too large",
    "9" * 100: "not an amount",
}


def _ledger_rows(session: Session) -> int:
    return session.scalar(select(func.count(LedgerTransaction.id))) or 0


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    return tmp_path / "audit"


@pytest.fixture
def app(make_app: Callable[..., Flask], audit_dir: Path) -> Flask:
    return make_app()


def _owed_channel(session: Session, app: Flask, audit_dir: Path, cents: int) -> int:
    """A channel the co-op owes `cents` after a published round."""
    period = period_of(utcnow())
    voter = make_member(session)
    rnd, chans = open_round(session, period=period, channels=1)
    vote(session, voter, rnd, {chans[0].id: 10_000})
    fund_pool(session, period, cents)
    session.commit()
    close_and_publish(database(app), rnd.id)
    return int(chans[0].id)


def _payout(client: FlaskClient, channel_id: int, amount: str, ref: str) -> tuple[int, str]:
    data = {"channel_id": str(channel_id), "amount": amount, "paid_on": "", "reference": ref}
    data["paid_on"] = utcnow().date().isoformat()
    response = client.post("/admin/payouts/", data=data)
    return response.status_code, response.get_data(as_text=True)


def test_payout_amounts_are_booked_exactly_or_refused(
    app: Flask, session: Session, login: Login, audit_dir: Path
) -> None:
    channel = _owed_channel(session, app, audit_dir, 500_000)
    client = login(make_member(session, admin=True))
    session.commit()
    before = _ledger_rows(session)
    for n, (text, reason) in enumerate({**BAD_AMOUNTS, "0": "at least $0.01"}.items()):
        status, page = _payout(client, channel, text, f"BAD-{n}")
        assert status == 400 and reason in page, text
    assert session.scalar(select(func.count(Payout.id))) == 0
    assert _ledger_rows(session) == before and balance(session, channel_code(channel)) == 500_000
    for n, (text, cents) in enumerate({"12": 1200, "12.3": 1230, "$1,234.50": 123_450}.items()):
        assert _payout(client, channel, text, f"OK-{n}")[0] == 302, text
        assert (
            session.scalars(select(Payout.cents).where(Payout.reference == f"OK-{n}")).one()
            == cents
        )
    assert balance(session, channel_code(channel)) == 500_000 - 1200 - 1230 - 123_450


def test_a_refused_payout_keeps_what_was_typed_and_says_why(
    app: Flask, session: Session, login: Login, audit_dir: Path
) -> None:
    channel = _owed_channel(session, app, audit_dir, 10_000)
    client = login(make_member(session, admin=True))
    session.commit()
    status, page = _payout(client, channel, "12.345", "BANK-7")
    assert status == 400
    reason = "USD amounts have at most 2 decimal places (the smallest is $0.01); 12.345 has more."
    assert str(escape(reason)) in page
    assert 'value="12.345"' in page


def _price_cases(extra: dict[str, str] | None = None) -> dict[str, str]:
    """BAD_AMOUNTS for a tier price field, whose form also caps the length at 20."""
    cases = {**BAD_AMOUNTS, **(extra or {})}
    return {t: ("longer than 20" if len(t) > 20 else why) for t, why in cases.items()}


OFFER = {
    "tiers-0-from_seats": "1",
    "tiers-0-price": "1.20",
    "min_seats": "1",
    "term_months": "12",
    "notes": "",
}


def test_vendor_offer_prices_are_read_exactly_or_refused(app: Flask, session: Session) -> None:
    _, token = make_deal(session, stage="requested")
    session.commit()
    vendor = app.test_client()
    for text, reason in _price_cases({"1000000.01": "too large"}).items():
        response = vendor.post(
            f"/vendor/deals/{token}/offer", data={**OFFER, "tiers-0-price": text}
        )
        assert response.status_code == 400, text
        assert reason in response.get_data(as_text=True), text
    assert session.scalar(select(func.count(DealOffer.id))) == 0
    response = vendor.post(
        f"/vendor/deals/{token}/offer", data={**OFFER, "tiers-0-price": "1,234.5"}
    )
    assert response.status_code == 302
    assert session.scalars(select(DealOffer.tiers)).one() == [[1, 123_450]]


def test_admin_counter_offer_prices_are_read_exactly_or_refused(
    app: Flask, session: Session, login: Login
) -> None:
    admin = make_member(session, admin=True)
    deal, _ = make_deal(session, admin=admin, stage="offered")
    session.commit()
    client = login(admin)
    offers = session.scalar(select(func.count(DealOffer.id)))
    for text, reason in _price_cases().items():
        response = client.post(
            f"/admin/deals/{deal.id}/counter", data={**OFFER, "tiers-0-price": text}
        )
        assert response.status_code == 400, text
        assert reason in response.get_data(as_text=True), text
    assert session.scalar(select(func.count(DealOffer.id))) == offers
    response = client.post(
        f"/admin/deals/{deal.id}/counter", data={**OFFER, "tiers-0-price": "0.99"}
    )
    assert response.status_code == 302
    latest = session.scalars(select(DealOffer).order_by(DealOffer.id.desc())).first()
    assert latest is not None and latest.tiers == [[1, 99]]


def test_amounts_are_typed_and_explained_in_the_configured_locale(
    make_app: Callable[..., Flask], session: Session, login: Login, audit_dir: Path
) -> None:
    """With LOCALE=de_DE an admin types 400,01 and the service's refusal reads 400,00 $."""
    app = make_app(LOCALE="de_DE")
    channel = _owed_channel(session, app, audit_dir, 40_000)
    client = login(make_member(session, admin=True), app.test_client())
    session.commit()
    status, page = _payout(client, channel, "400,01", "DE-1")
    assert status == 400 and "is owed 400,00\xa0$; a payout cannot exceed that." in page
    status, page = _payout(client, channel, "1.005", "DE-2")  # a thousand and five, grouped
    assert status == 400 and "cannot exceed" in page
    assert _payout(client, channel, "12,5", "DE-3")[0] == 302
    assert session.scalars(select(Payout.cents)).one() == 1250
