"""Waiting for a sold-out product: members join, and are told once when stock arrives.

Stock arrives through the admin's stock and key-import pages and through deals that buy
seats; each calls `stock_arrived`, which tells every waiting member (through the app's
notifier, so the catalogue needs no notifications import) and clears the list.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.browse import product_shelf
from catalog.claims import standing_problem
from catalog.models import Product, WaitlistEntry
from market.db import utcnow
from market.errors import Conflict, Forbidden
from market.members.models import Member

Notify = Callable[[Session, Member, str, str, str, str | None], Any]


def is_waiting(session: Session, member: Member, product_id: int) -> bool:
    """Whether the member is on the product's waitlist."""
    return (
        session.scalar(
            select(WaitlistEntry.id).where(
                WaitlistEntry.product_id == product_id, WaitlistEntry.member_id == member.id
            )
        )
        is not None
    )


def join(session: Session, member: Member, product_id: int, now: datetime | None = None) -> None:
    """Wait for a sold-out product; refused while there is stock to claim."""
    now = now or utcnow()
    problem = standing_problem(member, now)
    if problem:
        raise Forbidden(problem)
    shelf = product_shelf(session, product_id, 10_000)  # NotFound for an unknown product
    if shelf.left != 0:
        raise Conflict("There is stock to claim right now: claim it instead of waiting.")
    if is_waiting(session, member, product_id):
        return
    savepoint = session.begin_nested()
    try:
        session.add(WaitlistEntry(product_id=product_id, member_id=member.id, created_at=now))
        session.flush()
    except IntegrityError:  # a second tab got there first: the member is waiting either way
        savepoint.rollback()
        return
    savepoint.commit()


def leave(session: Session, member: Member, product_id: int) -> None:
    """Stop waiting for a product."""
    session.execute(
        delete(WaitlistEntry).where(
            WaitlistEntry.product_id == product_id, WaitlistEntry.member_id == member.id
        )
    )


def stock_arrived(session: Session, product: Product, notify: Notify) -> int:
    """If the product has stock now, tell everyone waiting for it and clear the list."""
    if product_shelf(session, product.id, 10_000, admin=True).left == 0:
        return 0
    waiting = list(
        session.scalars(
            select(Member)
            .join(WaitlistEntry, WaitlistEntry.member_id == Member.id)
            .where(WaitlistEntry.product_id == product.id)
            .order_by(WaitlistEntry.id)
        )
    )
    for member in waiting:
        notify(
            session,
            member,
            "stock_arrived",
            f"{product.name} is back in stock",
            f"You asked to be told when {product.name} is back: there is stock to claim now "
            "(first come, first served).",
            f"/catalogue/{product.id}",
        )
    session.execute(delete(WaitlistEntry).where(WaitlistEntry.product_id == product.id))
    return len(waiting)


def waited_for(session: Session, product_ids: list[int]) -> set[int]:
    """Which of these products someone is waiting for (one query)."""
    if not product_ids:
        return set()
    return set(
        session.scalars(
            select(WaitlistEntry.product_id)
            .where(WaitlistEntry.product_id.in_(product_ids))
            .distinct()
        )
    )
