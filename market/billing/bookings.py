"""Dues invoices and their booking: which month's pool a payment feeds, booked once.

A paid invoice is booked clearing -> pool/reserve once, keyed by its id, whenever it
arrives. It feeds the pool of the month it pays for, or, when that month's round was
already published, the first later month whose pool is still open: every cent is shared
out once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from market.billing import statements
from market.billing.models import DuesInvoice
from market.clock import next_period
from market.db import utcnow
from market.ledger.services import CLEARING, RESERVE, Move, book, pool_code
from market.money import Money, fee_split

if TYPE_CHECKING:
    from market.billing.services import DuesSettings


def to_datetime(epoch: int | None) -> datetime | None:
    """Stripe's epoch seconds as an aware UTC datetime."""
    return None if epoch is None else datetime.fromtimestamp(int(epoch), UTC)


def invoice_month(invoice: dict[str, Any]) -> str:
    """The month whose pool an invoice feeds: the start of the period it pays for."""
    lines = (invoice.get("lines") or {}).get("data") or []
    start = None
    if lines and isinstance(lines[0].get("period"), dict):
        start = lines[0]["period"].get("start")
    start = start or invoice.get("period_start") or invoice["created"]
    moment = to_datetime(start)
    assert moment is not None
    return moment.strftime("%Y-%m")


def pool_closed(session: Session, month: str) -> bool:
    """Whether the month's pool was already shared out (its round published or carried)."""
    return bool(session.connection().scalar(statements.POOL_CLOSED, {"pool": pool_code(month)}))


def open_pool_month(session: Session, month: str) -> str:
    """The month whose pool dues for `month` feed: that month's, or, when they are paid
    after its round was published (a renewal retried into the next month, a late webhook),
    the first later month whose pool is still open. Every cent is shared out once."""
    while pool_closed(session, month):
        month = next_period(month)
    return month


def _paid_at(invoice: dict[str, Any], fallback: int) -> datetime:
    transitions = invoice.get("status_transitions") or {}
    moment = to_datetime(transitions.get("paid_at") or fallback)
    assert moment is not None
    return moment


def record_paid_invoice(
    session: Session,
    member_id: int,
    invoice: dict[str, Any],
    cents: int,
    currency: str,
    paid_at: datetime,
    carried: dict[str, object] | None = None,
) -> str:
    """Record the invoice as paid; returns the month it is booked to (its pool's month).

    One statement on the usual path: it keeps the month of an invoice already paid, and
    otherwise checks the pools of the invoice's month and the next (see `open_pool_month`).
    `carried`: an account's state written by the same statement (`statements.carried_state`).
    """
    first = invoice_month(invoice)
    second = next_period(first)
    conn = session.connection()
    upsert = statements.paid_invoice_upsert(conn.dialect.name, carried is not None)
    row = upsert.row(
        conn,
        {
            "invoice_id": invoice["id"],
            "payer": member_id,
            "cents": cents,
            "invoice_currency": currency,
            "m0": first,
            "p0": pool_code(first),
            "m1": second,
            "p1": pool_code(second),
            "when_paid": paid_at,
            "recorded_at": utcnow(),
            **(carried or {}),
        },
    )
    assert row is not None, "the upsert returns the invoice's month"
    month = row["month"]
    if not month:  # both pools shared out already: walk on to the first open one
        month = open_pool_month(session, next_period(second))
        conn.execute(statements.INVOICE_MONTH, {"invoice_id": invoice["id"], "new_month": month})
    return str(month)


def book_paid_invoice(
    session: Session,
    member_id: int,
    invoice: dict[str, Any],
    seen_at: int,
    cfg: DuesSettings,
    carried: dict[str, object] | None = None,
) -> bool:
    """Record a paid invoice and book clearing -> pool/reserve once; True if newly booked.

    `carried`: an account's state to write with the invoice (`statements.carried_state`).
    """
    cents = int(invoice.get("amount_paid") or 0)
    currency = str(invoice.get("currency") or cfg.currency).lower()
    paid_at = _paid_at(invoice, seen_at)
    month = record_paid_invoice(session, member_id, invoice, cents, currency, paid_at, carried)
    if cents <= 0:
        return False
    parts = fee_split(Money(cents, currency), cfg.ops_share_bp)
    moves = [Move(CLEARING, pool_code(month), parts.pool.cents)]
    if parts.reserve.cents:
        moves.append(Move(CLEARING, RESERVE, parts.reserve.cents))
    txn_id = book(
        session,
        f"invoice:{invoice['id']}",
        "dues",
        f"Dues for {month} (invoice {invoice['id']})",
        moves,
        currency,
        occurred_at=paid_at,
        period=month,
    )
    return txn_id is not None


def record_failed_invoice(
    session: Session, member_id: int, invoice: dict[str, Any], cfg: DuesSettings
) -> None:
    """Record a failed invoice (an invoice already paid stays paid: 'paid' is final)."""
    conn = session.connection()
    conn.execute(
        statements.failed_invoice_insert(conn.dialect.name),
        {
            "id": invoice["id"],
            "member_id": member_id,
            "amount_cents": int(invoice.get("amount_due") or 0),
            "currency": str(invoice.get("currency") or cfg.currency).lower(),
            "month": invoice_month(invoice),
            "status": "failed",
            "paid_at": None,
            "created_at": utcnow(),
        },
    )
    session.execute(
        update(DuesInvoice)
        .where(DuesInvoice.id == invoice["id"], DuesInvoice.status == "open")
        .values(status="failed")
    )
