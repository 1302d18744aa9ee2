"""Factories for rounds: fund a month's pool through the ledger, open a round, cast ballots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from allocation import ballots, rounds
from allocation.models import Round
from market.billing.bookings import book_paid_invoice
from market.billing.services import DuesSettings
from market.clock import month_start, period_of, utcnow
from market.ledger.services import CLEARING, Move, pool_code, post
from market.members.models import Member
from tests.catalog.factories import make_channel
from tests.market.factories import make_member


def fund_pool(session: Session, period: str, cents: int, key: str | None = None) -> None:
    """Book dues straight into a month's pool."""
    post(
        session,
        key or f"test:dues:{period}:{cents}",
        "dues",
        "test dues",
        [Move(CLEARING, pool_code(period), cents)],
        "usd",
    )


def open_round(
    session: Session,
    admin: Member | None = None,
    period: str | None = None,
    channels: int | Sequence[str] = 3,
    now: datetime | None = None,
    **kwargs: Any,
) -> tuple[Round, list[Any]]:
    """Channels (new unless none are wanted) and an open round over them, opened at `now`.

    The period defaults to the month of `now`.
    """
    now = now or utcnow()
    period = period or period_of(now)
    names = [f"Ch {period} {i}" for i in range(channels)] if isinstance(channels, int) else channels
    made = [make_channel(session, name=name) for name in names]
    admin = admin or make_member(session, admin=True)
    # Voting stays open a week, even when the test runs in the last minute of a month.
    kwargs.setdefault("closes_at", now + timedelta(days=7))
    rnd = rounds.open_round(session, admin, period, now=now, **kwargs)
    session.flush()
    return rnd, made


def vote(
    session: Session,
    member: Member,
    rnd: Round,
    split: dict[int, int],
    now: datetime | None = None,
) -> ballots.Cast:
    """Cast a ballot through the service (basis points by channel id)."""
    return ballots.cast_ballot(session, member, rnd.id, split, now=now)


def pay_dues(
    session: Session,
    member: Member,
    period: str,
    cents: int = 500,
    ops_share_bp: int = 1000,
    invoice_id: str | None = None,
) -> str:
    """Book a paid dues invoice for a month the way the Stripe webhook does; its id."""
    start = int(month_start(period).timestamp())
    inv_id = invoice_id or f"in_test_{member.id}_{period}_{cents}"
    invoice = {
        "id": inv_id,
        "amount_paid": cents,
        "currency": "usd",
        "created": start,
        "period_start": start,
        "lines": {"data": [{"period": {"start": start}}]},
        "status_transitions": {"paid_at": start + 3600},
    }
    book_paid_invoice(session, member.id, invoice, start, DuesSettings(ops_share_bp=ops_share_bp))
    return inv_id


def audit_copy(session: Session, round_id: int, folder: Path) -> Path:
    """The published round's audit file, copied from the database's file store to `folder`."""
    from allocation import audit

    session.expire_all()
    rnd = session.get(Round, round_id)
    assert rnd is not None and rnd.audit_head
    stored = audit.stored_audit(session, rnd)
    assert stored is not None
    folder.mkdir(parents=True, exist_ok=True)
    return audit.save_copy(session, stored, folder / f"round-{round_id}.csv")
