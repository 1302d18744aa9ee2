"""The demo lives in the present: whatever the day, its months are the last three and this one."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation.models import Round
from allocation.rounds import month_name
from market import demo
from market.billing.models import DuesInvoice
from market.clock import month_end, period_of, shift_period, utcnow
from market.deals.models import Deal
from market.ledger.services import balance, pool_code
from market.members.models import Member
from market.reserve.services import progress as reserve_progress


def _text(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, path
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)))


def test_demo_lives_in_the_present(
    app: Flask, session: Session, client: FlaskClient, login: Callable[[Member], FlaskClient]
) -> None:
    started = utcnow()
    with app.app_context():  # as under `flask demo load`
        demo.load(app, now=started)
    current = period_of(started)
    months = [shift_period(current, k) for k in (-3, -2, -1, 0)]

    # Three months published and this one open; each round opened within its own month.
    rounds = session.scalars(select(Round).order_by(Round.period)).all()
    assert [r.period for r in rounds] == months
    assert [r.status for r in rounds] == ["published"] * 3 + ["open"]
    assert all(period_of(r.opens_at) == r.period for r in rounds)
    assert all(r.opens_at <= started for r in rounds)
    assert all(r.published_at and period_of(r.published_at) <= current for r in rounds[:3])
    assert rounds[-1].closes_at == month_end(current) > started

    # Dues paid through this month (every month's pool filled), the two declines this month.
    assert all(r.pool_cents for r in rounds[:3]) and balance(session, pool_code(current)) > 0
    declined = session.scalars(
        select(DuesInvoice.month)
        .join(Member, Member.id == DuesInvoice.member_id)
        .where(Member.email.in_(["member010@commons.example", "member011@commons.example"]))
        .where(DuesInvoice.month == current)
    ).all()
    assert len(declined) == 2

    group_buy = session.scalars(select(Deal).where(Deal.group_buy)).one()
    assert group_buy.deadline is not None and group_buy.deadline > started

    nia = session.scalars(select(Member).where(Member.email == demo.NIA_EMAIL)).one()
    login(nia)
    home, listing = _text(client, "/"), _text(client, "/rounds/")
    assert f"{month_name(current)}&#39;s budget vote" in home
    for month in months:
        assert month in listing

    # The acquisition reserve: on the ballot, filled by the published rounds, with a target.
    reserve = reserve_progress(session)
    assert reserve is not None and reserve.on_ballot
    assert 0 < reserve.balance_cents < reserve.target_cents
    assert f"{reserve.percent} %" in home and "saved for a co-op owned platform" in home
