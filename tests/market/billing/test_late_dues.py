"""Dues paid after their month's round shared the pool out feed the next open pool (found by
the simulation: a renewal declined on the 28th and paid on retry after the close)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from market.billing.models import DuesInvoice
from market.clock import shift_period
from market.ledger.services import CLEARING, Move, balance, pool_code, post
from tests.market.billing.stripe_fakes import (
    THIS_MONTH,
    deliver,
    event,
    invoice,
    make_dues_account,
    months_ago,
)
from tests.market.factories import make_member


def test_late_dues_land_in_the_next_open_pool(client: FlaskClient, session: Session) -> None:
    last_month = shift_period(THIS_MONTH, -1)
    first, second = make_member(session), make_member(session)
    make_dues_account(session, first, "cus_late_1")
    make_dues_account(session, second, "cus_late_2")
    on_time = event(
        "invoice.paid",
        invoice("in_on_time", "cus_late_1", period_start=months_ago(1)),
        months_ago(1) + 60,
    )
    assert deliver(client, on_time).status_code == 200
    pool = balance(session, pool_code(last_month))
    assert pool == 450
    # Last month's round published: its pool is shared out (here, carried over: no ballots).
    moves = [Move(pool_code(last_month), pool_code(THIS_MONTH), pool)]
    post(session, "round:test:carry", "carry", "no ballots", moves, "usd")
    session.commit()
    late = event(
        "invoice.paid",
        invoice("in_late", "cus_late_2", period_start=months_ago(1)),
        months_ago(0) + 3600,
    )
    assert deliver(client, late).status_code == 200
    session.expire_all()
    assert balance(session, pool_code(last_month)) == 0  # nothing lands in a closed pool
    assert balance(session, pool_code(THIS_MONTH)) == 900
    booked = session.get(DuesInvoice, "in_late")
    assert booked is not None and booked.month == THIS_MONTH and booked.status == "paid"
    # The on-time invoice delivered again stays where it was booked.
    on_time["id"] = on_time["id"] + "_again"
    assert deliver(client, on_time).status_code == 200
    session.expire_all()
    kept = session.get(DuesInvoice, "in_on_time")
    assert kept is not None and kept.month == last_month
    assert balance(session, pool_code(THIS_MONTH)) == 900


def test_dues_months_late_walk_past_every_closed_pool(
    client: FlaskClient, session: Session
) -> None:
    # Three months' rounds published in a row (a parked event replayed months later): the
    # booking statement checks two pools, the rest is walked one month at a time.
    member = make_member(session)
    make_dues_account(session, member, "cus_later")
    for n in (3, 2, 1):
        month, after = shift_period(THIS_MONTH, -n), shift_period(THIS_MONTH, 1 - n)
        post(session, f"seed:{month}", "dues", "seed", [Move(CLEARING, pool_code(month), 7)], "usd")
        moves = [Move(pool_code(month), pool_code(after), 7)]
        post(session, f"round:test:{month}", "carry", "no ballots", moves, "usd")
    session.commit()
    closed = [pool_code(shift_period(THIS_MONTH, -n)) for n in (3, 2, 1)]
    kept = [balance(session, pool) for pool in closed]
    before = balance(session, pool_code(THIS_MONTH))
    late = event(
        "invoice.paid",
        invoice("in_very_late", "cus_later", period_start=months_ago(3)),
        months_ago(0) + 3600,
    )
    assert deliver(client, late).status_code == 200
    session.expire_all()
    booked = session.get(DuesInvoice, "in_very_late")
    assert booked is not None and booked.month == THIS_MONTH and booked.status == "paid"
    assert balance(session, pool_code(THIS_MONTH)) == before + 450
    assert [balance(session, pool) for pool in closed] == kept  # nothing in a closed pool
