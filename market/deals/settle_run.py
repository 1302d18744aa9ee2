"""One settle run over the due deals: what `deals settle` and the scheduled job both call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from market.db import Database
from market.deals.settle import due_for_settling, expire_due, settle_deal
from market.errors import DomainError
from market.ledger.services import check_books


@dataclass
class SettleRun:
    """The lines a settle run reports, and how many deals it could not settle."""

    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def run_settle(db: Database, cfg: Any, now: datetime, deal_id: int | None = None) -> SettleRun:
    """Settle due deals (each in its own transaction) and expire finished terms.

    The books are checked before and after; an unbalanced ledger stops the run.
    """
    with db.transaction() as session:
        problems = check_books(session)
        ids = [deal_id] if deal_id is not None else due_for_settling(session)
    if problems:
        raise DomainError("The books do not balance; not settling: " + "; ".join(problems))
    run = SettleRun()
    for one in ids:
        try:
            with db.transaction() as session:
                result = settle_deal(
                    session,
                    one,
                    currency=cfg["CURRENCY"],
                    ratify_above=cfg["RATIFY_ABOVE_CENTS"],
                    now=now,
                )
            run.lines.append(f"deal {one}: {result.outcome}. {result.message}")
        except DomainError as exc:
            run.failed.append(f"deal {one}: refused. {exc.message}")
    if deal_id is None:
        with db.transaction() as session:
            run.lines += [
                f"deal {d}: expired (its term is over)." for d in expire_due(session, now)
            ]
    with db.transaction() as session:
        problems = check_books(session)
    if problems:
        raise DomainError("The books do not balance after settling: " + "; ".join(problems))
    return run
