"""The deal's life as one table of allowed moves, and the one function that applies them.

draft -> requested -> offered <-> countered -> accepted | rejected | withdrawn;
accepted -> active -> expired; a group buy that does not tip goes accepted -> lapsed.
Every applied move is written to the deal's history (who, when, from, to, note).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from market.db import utcnow
from market.errors import Conflict


class Status(enum.StrEnum):
    """Where a deal stands."""

    DRAFT = "draft"
    REQUESTED = "requested"  # the vendor has been sent the link and asked for an offer
    OFFERED = "offered"  # the vendor's offer is the latest word
    COUNTERED = "countered"  # the co-op's counter-offer is the latest word
    ACCEPTED = "accepted"  # terms agreed; a group buy now collects commitments
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    ACTIVE = "active"  # bought: booked and provisioned
    LAPSED = "lapsed"  # a group buy that did not reach its members by the deadline
    EXPIRED = "expired"  # its term is over


class Actor(enum.StrEnum):
    """Who made a move."""

    ADMIN = "admin"
    VENDOR = "vendor"
    SYSTEM = "system"  # settle / expire jobs


S, A = Status, Actor
# (from, to) -> who may make that move. Anything not listed is refused.
MOVES: dict[tuple[Status, Status], frozenset[Actor]] = {
    (S.DRAFT, S.REQUESTED): frozenset({A.ADMIN}),
    (S.DRAFT, S.WITHDRAWN): frozenset({A.ADMIN}),
    (S.REQUESTED, S.OFFERED): frozenset({A.VENDOR}),
    (S.REQUESTED, S.WITHDRAWN): frozenset({A.ADMIN, A.VENDOR}),
    (S.OFFERED, S.COUNTERED): frozenset({A.ADMIN}),
    (S.OFFERED, S.OFFERED): frozenset({A.VENDOR}),  # the vendor revises its own offer
    (S.OFFERED, S.ACCEPTED): frozenset({A.ADMIN}),
    (S.OFFERED, S.REJECTED): frozenset({A.ADMIN}),
    (S.OFFERED, S.WITHDRAWN): frozenset({A.ADMIN, A.VENDOR}),
    (S.COUNTERED, S.OFFERED): frozenset({A.VENDOR}),
    (S.COUNTERED, S.COUNTERED): frozenset({A.ADMIN}),  # the co-op revises its counter
    (S.COUNTERED, S.ACCEPTED): frozenset({A.VENDOR}),
    (S.COUNTERED, S.REJECTED): frozenset({A.VENDOR}),
    (S.COUNTERED, S.WITHDRAWN): frozenset({A.ADMIN, A.VENDOR}),
    (S.ACCEPTED, S.ACTIVE): frozenset({A.SYSTEM}),
    (S.ACCEPTED, S.LAPSED): frozenset({A.SYSTEM}),
    (S.ACCEPTED, S.WITHDRAWN): frozenset({A.ADMIN, A.SYSTEM}),  # system: a ballot did not fund it
    (S.ACTIVE, S.EXPIRED): frozenset({A.SYSTEM}),
}

LABELS = {
    S.DRAFT: "Draft",
    S.REQUESTED: "Waiting for the vendor's offer",
    S.OFFERED: "Vendor has offered",
    S.COUNTERED: "Co-op has countered",
    S.ACCEPTED: "Accepted",
    S.REJECTED: "Rejected",
    S.WITHDRAWN: "Withdrawn",
    S.ACTIVE: "Active",
    S.LAPSED: "Lapsed",
    S.EXPIRED: "Expired",
}
NEGOTIATING = frozenset({S.REQUESTED, S.OFFERED, S.COUNTERED})
FINISHED = frozenset({S.REJECTED, S.WITHDRAWN, S.LAPSED, S.EXPIRED})


def allowed(current: str, target: str, actor: str) -> bool:
    """Whether `actor` may move a deal from `current` to `target`."""
    try:
        return Actor(actor) in MOVES.get((Status(current), Status(target)), frozenset())
    except ValueError:
        return False


def check_move(current: str, target: str, actor: str) -> None:
    """Raise Conflict naming the current state and the attempted move if it is not allowed."""
    if not allowed(current, target, actor):
        raise Conflict(
            f"This deal is {LABELS.get(Status(current), current).lower()} ({current}); "
            f"the {actor} cannot move it to {target}."
        )


def apply_move(
    session: Session,
    deal: object,
    target: str,
    actor: str,
    *,
    member_id: int | None = None,
    note: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move the deal (conditionally on its state in the database) and record the move.

    The UPDATE matches only if the row still holds the state we read, so two racing moves
    cannot both apply: the loser gets a Conflict instead of silently overwriting.
    """
    from market.deals.models import Deal, DealEvent

    assert isinstance(deal, Deal)
    current = deal.status
    check_move(current, target, actor)
    now = now or utcnow()
    result = session.execute(
        update(Deal)
        .where(Deal.id == deal.id, Deal.status == current)
        .values(status=target, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(deal)
        raise Conflict(f"This deal changed meanwhile; it is now {deal.status}. Reload the page.")
    session.refresh(deal, ["status", "updated_at"])
    session.add(
        DealEvent(
            deal_id=deal.id,
            from_status=current,
            to_status=target,
            actor=actor,
            member_id=member_id,
            note=note[:2000],
            ip=ip,
            created_at=now,
        )
    )
    session.flush()
