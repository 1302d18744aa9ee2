"""post() books with a handful of Core statements; what the ORM sees must stay true."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from market.clock import next_period, period_of, utcnow
from market.errors import DomainError
from market.ledger.services import (
    CLEARING,
    RESERVE,
    Move,
    balance,
    channel_code,
    check_books,
    get_account,
    pool_code,
    post,
)

MONTH = period_of(utcnow())  # the pool the tests book into: this month's


def test_many_accounts_some_new_and_amounts_beyond_32_bits(session: Session) -> None:
    big = 3_000_000_000  # cents: more than a 32-bit integer holds
    post(session, "fund", "dues", "Fund", [Move(CLEARING, pool_code(MONTH), big)], "usd")
    moves = [Move(pool_code(MONTH), channel_code(n), big // 5) for n in range(1, 6)]
    txn = post(session, "split", "allocation", "Split", moves, "usd")
    assert txn is not None and txn.key == "split"
    assert sorted(p.amount_cents for p in txn.postings) == [-big] + [big // 5] * 5
    assert [balance(session, channel_code(n)) for n in range(1, 6)] == [big // 5] * 5
    assert balance(session, pool_code(MONTH)) == 0
    assert check_books(session) == []


def test_a_loaded_account_shows_its_new_balance(session: Session) -> None:
    reserve = get_account(session, RESERVE, "usd")
    before = reserve.balance_cents
    post(session, "k:loaded", "dues", "Dues", [Move(CLEARING, RESERVE, 70)], "usd")
    assert reserve.balance_cents == before + 70


def test_an_account_in_another_currency_is_refused(session: Session) -> None:
    get_account(session, pool_code(next_period(MONTH)), "eur")
    with pytest.raises(DomainError, match="eur"):
        post(
            session,
            "k:cur",
            "dues",
            "Dues",
            [Move(CLEARING, pool_code(next_period(MONTH)), 5)],
            "usd",
        )


@pytest.mark.backends("postgresql")
def test_once_its_accounts_exist_a_booking_is_one_statement_on_postgresql(
    session: Session, engine: Engine
) -> None:
    from tests.support import count_queries

    month = pool_code(next_period(next_period(MONTH)))
    with count_queries(engine) as first:  # new accounts: the general path creates them
        post(session, "k:one:1", "dues", "Dues", [Move(CLEARING, month, 500)], "usd")
    with count_queries(engine) as usual:
        txn = post(session, "k:one:2", "dues", "Dues", [Move(CLEARING, month, 300)], "usd")
    with count_queries(engine) as again:
        twice = post(session, "k:one:2", "dues", "Dues", [Move(CLEARING, month, 300)], "usd")
    assert len(first) > 1 and len(usual) == 1 and len(again) == 1
    assert txn is not None and twice is None
    assert sorted(p.amount_cents for p in txn.postings) == [-300, 300]
    assert balance(session, month) == 800
    assert check_books(session) == []
