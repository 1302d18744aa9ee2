"""Settling closed spending decisions, each in its own transaction (the job and the CLI)."""

from __future__ import annotations

from datetime import datetime

from market.clock import utcnow
from market.db import Database
from market.reserve.spending import due_spends, settle_spend


def settle_closed(
    db: Database, now: datetime | None = None, spend_id: int | None = None
) -> list[str]:
    """Settle every pending spend whose decision has closed (or just `spend_id`); one line each."""
    now = now or utcnow()
    with db.transaction() as session:
        ids = [spend_id] if spend_id is not None else due_spends(session, now)
    lines = []
    for sid in ids:
        with db.transaction() as session:
            spend = settle_spend(session, sid, now)
            what = f"spend {sid} (decision #{spend.proposal_id}): {spend.status}."
            lines.append(f"{what} {spend.outcome or ''}".strip())
    return lines or ["No spending decision was due."]
