"""What the dues side holds about a member, and what deleting the account asks of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.billing.flows import PAYING
from market.billing.models import DuesAccount, DuesInvoice
from market.errors import Conflict
from market.personal import stamp


def export_dues(session: Session, member_id: int) -> dict[str, Any]:
    account = session.scalar(select(DuesAccount).where(DuesAccount.member_id == member_id))
    invoices = session.scalars(
        select(DuesInvoice).where(DuesInvoice.member_id == member_id).order_by(DuesInvoice.month)
    ).all()
    return {
        "subscription": None
        if account is None
        else {
            "status": account.sub_status,
            "renews_until": stamp(account.current_period_end),
            "cancel_at_period_end": account.cancel_at_period_end,
            "card": f"{account.card_brand} ending {account.card_last4}"
            if account.card_last4
            else None,
        },
        "invoices": [
            {
                "month": i.month,
                "amount_cents": i.amount_cents,
                "currency": i.currency,
                "status": i.status,
                "paid_at": stamp(i.paid_at),
            }
            for i in invoices
        ],
    }


def erase_dues(session: Session, member_id: int, now: datetime) -> None:
    """Refuse while the dues still renew; otherwise forget the card. Invoices are the books'."""
    account = session.scalar(select(DuesAccount).where(DuesAccount.member_id == member_id))
    if account is None:
        return
    if account.sub_status in PAYING and not account.cancel_at_period_end:
        raise Conflict(
            "Your dues still renew every month. Cancel them on My dues first; you can then "
            "delete your account straight away."
        )
    account.card_brand = None
    account.card_last4 = None
    session.flush()
