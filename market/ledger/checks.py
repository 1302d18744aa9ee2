"""The books' self-check: run before and after every job that moves money."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.ledger.models import Account, LedgerTransaction, Posting


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
    # Balances and postings compared in one statement, so one snapshot: read apart, a booking
    # committed in between (PostgreSQL's READ COMMITTED) looked like a wrong balance and made
    # a round's close under load refuse to start (found by the cluster drill).
    # An account's balance is its row's part plus its slots' (`Account.balance_cents`: a
    # subquery on the slots' key, so it reads only this account's).
    kept = Account.balance_cents
    posted = func.coalesce(func.sum(Posting.amount_cents), 0)
    drifted = session.execute(
        select(Account.code, kept, posted)
        .outerjoin(Posting, Posting.account_id == Account.id)
        .group_by(Account.id, Account.code, Account.base_cents)
        .having(kept != posted)
        .order_by(Account.id)
    ).all()
    problems += [
        f"account {code} caches {int(cached)} but its postings sum to {int(actual)}"
        for code, cached, actual in drifted
    ]
    return problems
