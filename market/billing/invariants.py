"""Invariants of dues: each Stripe event stored once, each paid invoice booked exactly once.

Small SQL checks run by `flask --app market check invariants`, the test suite and the load
test (`python -m bench.loadtest`).
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from market.billing.models import DuesInvoice, StripeEvent
from market.invariants import register
from market.ledger.models import LedgerTransaction


def events_stored_once(session: Session) -> list[str]:
    """No Stripe event id appears twice."""
    rows = session.execute(
        select(StripeEvent.id, func.count()).group_by(StripeEvent.id).having(func.count() > 1)
    ).all()
    return [f"Stripe event {eid} stored {n} times" for eid, n in rows]


# A transaction is joined to its invoice by the part of its key after "invoice:", so the
# invoice is found through its primary key. Joined the other way round (the key built from
# the invoice's id), SQLite compared every invoice with every transaction: the check grew
# with the square of the books and took most of a simulated year.
PREFIX = "invoice:"
INVOICE_TXN = LedgerTransaction.key.like(PREFIX + "%")


def invoices_booked_once(session: Session) -> list[str]:
    """Each invoice is booked at most once, every paid one is booked, and only paid ones."""
    twice = session.execute(
        select(LedgerTransaction.key, func.count())
        .where(INVOICE_TXN)
        .group_by(LedgerTransaction.key)
        .having(func.count() > 1)
    ).all()
    unbooked = session.scalars(
        select(DuesInvoice.id)
        .outerjoin(LedgerTransaction, LedgerTransaction.key == literal(PREFIX) + DuesInvoice.id)
        .where(DuesInvoice.status == "paid", DuesInvoice.amount_cents > 0)
        .where(LedgerTransaction.id.is_(None))
    ).all()
    invoice_id = func.substr(LedgerTransaction.key, len(PREFIX) + 1)
    unpaid = session.scalars(
        select(LedgerTransaction.key)
        .outerjoin(DuesInvoice, DuesInvoice.id == invoice_id)
        .where(INVOICE_TXN)
        .where((DuesInvoice.id.is_(None)) | (DuesInvoice.status != "paid"))
    ).all()
    return (
        [f"{k} booked {n} times" for k, n in twice]
        + [f"paid invoice {i} is not booked" for i in unbooked]
        + [f"{k} is booked but its invoice is not paid" for k in unpaid]
    )


def register_all(app: Flask) -> None:
    """Add the dues checks to `check invariants`."""
    register(app, "each Stripe event stored at most once", events_stored_once)
    register(app, "each invoice booked at most once (every paid one booked)", invoices_booked_once)
