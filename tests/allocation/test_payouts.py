"""Admins pay channels what rounds allocated them: never more than owed, one per reference."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation.closing import close_and_publish
from allocation.models import Payout
from allocation.payouts import month_summary
from market.db import utcnow
from market.ledger.services import PAID_OUT, balance, channel_code
from market.webdb import database
from tests.allocation.factories import fund_pool, open_round, vote
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _owed_channel(session: Session, app: Flask, audit_dir: Path) -> tuple[int, int]:
    member = make_member(session)
    rnd, chans = open_round(session, channels=2)
    vote(session, member, rnd, {chans[0].id: 10_000})
    fund_pool(session, rnd.period, 40_000)
    session.commit()
    close_and_publish(database(app), rnd.id)
    return chans[0].id, chans[1].id


def test_admin_records_a_payout_and_it_is_booked(
    session: Session, app: Flask, login: Login, audit_dir: Path
) -> None:
    paid, _ = _owed_channel(session, app, audit_dir)
    admin = make_member(session, admin=True)
    session.commit()
    client = login(admin)
    page = client.get("/admin/payouts/").get_data(as_text=True)
    assert "$400.00" in page
    data = {
        "channel_id": str(paid),
        "amount": "150.00",
        "paid_on": utcnow().date().isoformat(),
        "reference": "BANK-1",
    }
    assert client.post("/admin/payouts/", data=data).status_code == 302
    assert balance(session, channel_code(paid)) == 25_000
    assert balance(session, PAID_OUT) == 15_000
    [summary] = month_summary(session)
    assert summary.pool_cents == 40_000 and sum(c for _n, c in summary.by_channel) == 40_000


def test_overpaying_or_reusing_a_reference_is_refused(
    session: Session, app: Flask, login: Login, audit_dir: Path
) -> None:
    paid, unpaid = _owed_channel(session, app, audit_dir)
    admin = make_member(session, admin=True)
    session.commit()
    client = login(admin)
    base = {"paid_on": utcnow().date().isoformat()}
    too_much = {**base, "channel_id": str(paid), "amount": "400.01", "reference": "R1"}
    resp = client.post("/admin/payouts/", data=too_much)
    assert resp.status_code == 400 and "cannot exceed" in resp.get_data(as_text=True)
    nothing_owed = {**base, "channel_id": str(unpaid), "amount": "1.00", "reference": "R2"}
    assert client.post("/admin/payouts/", data=nothing_owed).status_code == 400
    ok = {**base, "channel_id": str(paid), "amount": "100.00", "reference": "R3"}
    assert client.post("/admin/payouts/", data=ok).status_code == 302
    resp = client.post("/admin/payouts/", data={**ok, "amount": "1.00"})
    assert resp.status_code == 400 and "already recorded" in resp.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Payout)) == 1
    assert balance(session, channel_code(paid)) == 30_000
