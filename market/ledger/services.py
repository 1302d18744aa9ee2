"""Booking money. Plain functions taking a session; they flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from market.db import utcnow
from market.errors import DomainError
from market.ledger.models import Account, LedgerTransaction, Posting

CLEARING = "clearing:stripe"
RESERVE = "reserve:ops"
PAID_OUT = "paid:out"

_NAMES = {CLEARING: "Stripe clearing", RESERVE: "Operations reserve", PAID_OUT: "Paid out"}
_KINDS = {CLEARING: "clearing", RESERVE: "reserve", PAID_OUT: "paid"}


def pool_code(month: str) -> str:
    """The pool account of a month, e.g. pool_code('2026-11')."""
    return f"pool:{month}"


def channel_code(channel_id: int) -> str:
    """What the co-op owes a channel."""
    return f"channel:{channel_id}"


def vendor_code(vendor_id: int) -> str:
    """What the co-op owes a vendor."""
    return f"vendor:{vendor_id}"


def _describe(code: str) -> tuple[str, str]:
    if code in _NAMES:
        return _NAMES[code], _KINDS[code]
    prefix, _, rest = code.partition(":")
    names = {
        "pool": f"Pool {rest}",
        "channel": f"Channel #{rest} payable",
        "vendor": f"Vendor #{rest} payable",
    }
    if prefix not in names or not rest:
        raise ValueError(f"unknown account code {code!r}")
    return names[prefix], prefix


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def get_account(session: Session, code: str, currency: str, name: str | None = None) -> Account:
    """The account with this code, created on first use (safe when two requests race)."""
    account = session.scalar(select(Account).where(Account.code == code))
    if account is None:
        default_name, kind = _describe(code)
        stmt = (
            _insert(session)(Account)
            .values(
                code=code,
                name=name or default_name,
                kind=kind,
                currency=currency.lower(),
                balance_cents=0,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["code"])
        )
        session.execute(stmt)
        account = session.scalars(select(Account).where(Account.code == code)).one()
    if account.currency != currency.lower():
        raise DomainError(f"account {code} is in {account.currency}, not {currency}")
    return account


@dataclass(frozen=True)
class Move:
    """Money leaving one account for another."""

    source: str
    destination: str
    cents: int


def post(
    session: Session,
    key: str,
    kind: str,
    memo: str,
    moves: Sequence[Move],
    currency: str,
    occurred_at: datetime | None = None,
) -> LedgerTransaction | None:
    """Book one transaction made of moves; None (and nothing written) if `key` was booked."""
    changes: dict[str, int] = {}
    for move in moves:
        if isinstance(move.cents, bool) or not isinstance(move.cents, int):
            raise TypeError("amounts are whole cents")
        if move.cents < 0:
            raise ValueError("a move cannot be negative; swap source and destination")
        changes[move.source] = changes.get(move.source, 0) - move.cents
        changes[move.destination] = changes.get(move.destination, 0) + move.cents
    changes = {code: cents for code, cents in changes.items() if cents}
    if not changes:
        raise ValueError("a transaction must move some money")
    assert sum(changes.values()) == 0
    inserted = session.execute(
        _insert(session)(LedgerTransaction)
        .values(
            key=key,
            kind=kind,
            memo=memo[:255],
            occurred_at=occurred_at or utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(LedgerTransaction.id)
    ).scalar()
    if inserted is None:
        return None  # booked before: the effect of an event happens once
    accounts = {code: get_account(session, code, currency) for code in sorted(changes)}
    session.add_all(
        Posting(txn_id=inserted, account_id=accounts[code].id, amount_cents=changes[code])
        for code in sorted(changes)
    )
    session.flush()
    txn = session.get(LedgerTransaction, inserted)
    _add_to_balances(session, {accounts[code].id: cents for code, cents in changes.items()})
    for account in accounts.values():
        session.expire(account, ["balance_cents"])
    return txn


def _add_to_balances(session: Session, changes: dict[int, int]) -> None:
    """Add to the cached balances, as the last thing `post` does.

    Shared accounts (the month's pool, the reserve) are hot rows whose locks are held until
    commit, so taking them last keeps concurrent bookings from queueing behind each other's
    other work. Rows are updated in a fixed order so bookings never deadlock, and each
    update is relative, so concurrent bookings add up instead of overwriting each other.
    """
    for account_id in sorted(changes):
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(balance_cents=Account.balance_cents + changes[account_id])
            .execution_options(synchronize_session=False)
        )


def balance(session: Session, code: str) -> int:
    """An account's balance in cents (0 if it does not exist yet)."""
    return session.scalar(select(Account.balance_cents).where(Account.code == code)) or 0


def was_booked(session: Session, key: str) -> bool:
    """Whether a transaction with this key exists."""
    return (
        session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.key == key)) is not None
    )


def check_books(session: Session) -> list[str]:
    """Every way the books could be wrong, as sentences; empty when they are right."""
    problems: list[str] = []
    unbalanced = session.execute(
        select(Posting.txn_id, func.sum(Posting.amount_cents))
        .group_by(Posting.txn_id)
        .having(func.sum(Posting.amount_cents) != 0)
    ).all()
    problems += [f"transaction {t} sums to {s}, not 0" for t, s in unbalanced]
    empty = session.scalars(
        select(LedgerTransaction.id).where(~LedgerTransaction.postings.any())
    ).all()
    problems += [f"transaction {t} has no postings" for t in empty]
    sums = dict(
        session.execute(
            select(Posting.account_id, func.sum(Posting.amount_cents)).group_by(Posting.account_id)
        ).all()
    )
    for account in session.scalars(select(Account)):
        actual = int(sums.get(account.id, 0))
        if account.balance_cents != actual:
            problems.append(
                f"account {account.code} caches {account.balance_cents} "
                f"but its postings sum to {actual}"
            )
    return problems
