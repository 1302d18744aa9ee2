from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from market.clock import period_of, utcnow
from market.db import Database, make_engine
from market.ledger.models import Account, AccountSlot, LedgerTransaction
from market.ledger.services import (
    CLEARING,
    RESERVE,
    Move,
    balance,
    check_books,
    get_account,
    pool_code,
    post,
)

MONTH = period_of(utcnow())  # the pool the tests book into: this month's


def book_dues(session: Session, invoice: str, cents: int = 500) -> LedgerTransaction | None:
    pool, reserve = cents * 9 // 10, cents - cents * 9 // 10
    return post(
        session,
        f"invoice:{invoice}",
        "dues",
        "Dues",
        [Move(CLEARING, pool_code(MONTH), pool), Move(CLEARING, RESERVE, reserve)],
        "usd",
    )


def test_a_booking_moves_money_and_sums_to_zero(session: Session) -> None:
    txn = book_dues(session, "in_1")
    assert txn is not None
    assert sorted(p.amount_cents for p in txn.postings) == [-500, 50, 450]
    assert balance(session, pool_code(MONTH)) == 450
    assert balance(session, RESERVE) == 50
    assert balance(session, CLEARING) == -500
    assert check_books(session) == []


def test_the_same_key_books_once(session: Session) -> None:
    assert book_dues(session, "in_2") is not None
    assert book_dues(session, "in_2") is None
    assert balance(session, pool_code(MONTH)) == 450


def test_refuses_nonsense(session: Session) -> None:
    with pytest.raises(ValueError):
        post(session, "k1", "x", "m", [Move(CLEARING, RESERVE, -5)], "usd")
    with pytest.raises(TypeError):
        post(session, "k2", "x", "m", [Move(CLEARING, RESERVE, 1.5)], "usd")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        post(session, "k3", "x", "m", [Move(CLEARING, CLEARING, 5)], "usd")
    with pytest.raises(ValueError, match="unknown account"):
        get_account(session, "bogus:1:2", "usd")


def test_posted_rows_cannot_change(session: Session) -> None:
    book_dues(session, "in_3")
    for sql in (
        "UPDATE posting SET amount_cents = 1",
        "DELETE FROM posting",
        "UPDATE ledger_txn SET memo = 'x'",
        "DELETE FROM ledger_txn",
    ):
        nested = session.begin_nested()
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(sql))
        nested.rollback()


@pytest.mark.tampers_books
def test_books_check_finds_a_tampered_balance(session: Session) -> None:
    book_dues(session, "in_4")
    session.execute(
        text("UPDATE account SET base_cents = base_cents + 1 WHERE code = 'reserve:ops'")
    )
    problems = check_books(session)
    assert problems and "reserve:ops" in problems[0]


@pytest.mark.tampers_books
def test_books_check_counts_an_accounts_slots(session: Session) -> None:
    """A balance is the row's part plus the slots': money moved between them is no drift,
    a cent added to a slot is."""
    book_dues(session, "in_5")
    reserve = session.scalars(select(Account).where(Account.code == RESERVE)).one()
    held = reserve.balance_cents
    session.execute(
        text("UPDATE account SET base_cents = base_cents - 30 WHERE code = 'reserve:ops'")
    )
    session.execute(
        text(
            "INSERT INTO account_slot (account_id, slot, cents) VALUES (:a, 3, 30)"
            " ON CONFLICT (account_id, slot) DO UPDATE SET cents = account_slot.cents + 30"
        ),
        {"a": reserve.id},
    )
    session.expire(reserve)
    assert reserve.balance_cents == held and balance(session, RESERVE) == held
    assert check_books(session) == []
    session.execute(
        text("UPDATE account_slot SET cents = cents + 1 WHERE account_id = :a"), {"a": reserve.id}
    )
    problems = check_books(session)
    assert problems == [f"account reserve:ops caches {held + 1} but its postings sum to {held}"]


def test_concurrent_bookings_add_up_and_never_double(live_database: str, backend: str) -> None:
    """Threads booking 40 invoices, each delivered 3 times at once: 40 effects, exact sums."""
    engine: Engine = make_engine(live_database)
    db = Database(engine)
    errors: list[BaseException] = []

    def worker(invoice: int) -> None:
        try:
            with db.transaction() as s:
                book_dues(s, f"in_c{invoice}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i % 40,)) for i in range(120)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.transaction() as s:
        assert balance(s, pool_code(MONTH)) == 40 * 450
        assert balance(s, CLEARING) == -40 * 500
        assert check_books(s) == []
        if backend == "postgresql":  # the one-statement path spreads them over slots
            slots = s.scalar(
                select(func.count())
                .select_from(AccountSlot)
                .join(Account, Account.id == AccountSlot.account_id)
                .where(Account.code == CLEARING)
            )
            assert slots is not None and slots > 1
    engine.dispose()


@pytest.mark.backends("postgresql")  # READ COMMITTED: each statement its own snapshot
def test_the_books_check_is_not_fooled_by_a_booking_committed_while_it_reads(
    live_database: str, backend: str
) -> None:
    from sqlalchemy import event

    engine = make_engine(live_database)
    db = Database(engine)
    with db.transaction() as s:
        book_dues(s, "in_before")
    booked = [0]

    def book_meanwhile(*_args: object) -> None:
        # Before each of the check's statements, another member's dues are committed.
        booked[0] += 1
        with db.transaction() as other:
            book_dues(other, f"in_meanwhile_{booked[0]}")

    with db.writer() as reader, reader.begin():
        conn = reader.connection()
        event.listen(conn, "before_cursor_execute", book_meanwhile)
        try:
            problems = check_books(reader)
        finally:
            event.remove(conn, "before_cursor_execute", book_meanwhile)
    assert booked[0] >= 3
    assert problems == []
    engine.dispose()
