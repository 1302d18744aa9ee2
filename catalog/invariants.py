"""Invariants of licences: no key with two holders, one live claim per member and product,
and stock counters that agree with the claims (nothing half claimed or half released).

Small SQL checks run by `flask --app market check invariants`, the test suite and the load
test (`python -m bench.loadtest`).
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Claim, KeyStatus, LicenceKey, Product, ProductKind
from market.invariants import register

LIVE = Claim.released_at.is_(None)


def no_key_held_twice(session: Session) -> list[str]:
    """No licence key is in two live claims."""
    rows = session.execute(
        select(Claim.licence_key_id, func.count())
        .where(LIVE, Claim.licence_key_id.is_not(None))
        .group_by(Claim.licence_key_id)
        .having(func.count() > 1)
    ).all()
    return [f"licence key {key} is held by {n} members" for key, n in rows]


def one_live_claim_per_member_product(session: Session) -> list[str]:
    """A member holds at most one live claim per product."""
    rows = session.execute(
        select(Claim.member_id, Claim.product_id, func.count())
        .where(LIVE)
        .group_by(Claim.member_id, Claim.product_id)
        .having(func.count() > 1)
    ).all()
    return [f"member {m} holds {n} live claims on product {p}" for m, p, n in rows]


def stock_matches_claims(session: Session) -> list[str]:
    """Keys marked claimed are exactly the keys in live claims; seat counters add up."""
    live_key = select(Claim.id).where(LIVE, Claim.licence_key_id == LicenceKey.id).exists()
    keys = session.execute(
        select(LicenceKey.id, LicenceKey.status).where(
            (LicenceKey.status == KeyStatus.CLAIMED.value) != live_key
        )
    ).all()
    problems = [f"licence key {k} is '{status}' but its live claims disagree" for k, status in keys]
    live = func.count(Claim.id).filter(LIVE)
    seats = session.execute(
        select(
            Product.id,
            Product.reassignable,
            Product.seats_used,
            Product.seats_total,
            live,
            func.count(Claim.id),
        )  # fmt: skip
        .outerjoin(Claim, Claim.product_id == Product.id)
        .where(Product.kind == ProductKind.SEAT.value)
        .group_by(Product.id)
    ).all()
    for pid, reassignable, used, total, held, ever in seats:
        # Seats of a non-reassignable product are spent for good when released.
        expected = held if reassignable else ever
        if used != expected or used > total:
            problems.append(f"product {pid}: {used} of {total} seats used, claims say {expected}")
    return problems


def register_all(app: Flask) -> None:
    """Add the catalogue's checks to `check invariants`."""
    register(app, "no licence key held by two members", no_key_held_twice)
    one_claim = one_live_claim_per_member_product
    register(app, "at most one live claim per member per product", one_claim)
    register(app, "key and seat stock match the live claims", stock_matches_claims)
