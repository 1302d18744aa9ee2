"""Claims: a member takes a licence, releases it, and the reclaim job ends lapsed members' claims.

A claim is one transaction. Key products take a key with `SELECT ... FOR UPDATE SKIP LOCKED`
on PostgreSQL, in a single statement that also inserts the claim (SQLite's BEGIN IMMEDIATE
already serialises writers, so there a select-then-update is safe); seat products bump a
counter with a guarded UPDATE; partial unique indexes back both up, so a race the
application misses still cannot hand out a key twice or give a member two live claims.

Releasing a non-reassignable licence burns it (the key is retired, the seat stays counted)
and the ended claim remembers that (`stock_retired`). The same member claiming again gets
that very licence back, so claim → release → claim never drains the stock; a link product
hands back the member's old token. Reassignable keys prefer the member's old key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog import claims_sql
from catalog.models import Channel, Claim, KeyStatus, LicenceKey, Product, ProductKind, Vendor
from market.db import utcnow
from market.errors import Conflict, DomainError, Forbidden, NotFound
from market.members.models import Member, MemberStatus

ALREADY_HELD = "You already hold a licence for this product. You find it under My licences."
SOLD_OUT = "Sorry, none are left: every licence for this product has been claimed."


def standing_problem(member: Member, now: datetime) -> str | None:
    """Why this member may not claim right now, or None when they may."""
    if member.in_good_standing(now):
        return None
    if member.status == MemberStatus.PENDING:
        return "Your first dues payment has not been confirmed yet, so you cannot claim yet."
    if member.status == MemberStatus.PAST_DUE:
        return "Your dues are overdue and the grace period has ended. Please update your payment."
    if member.status == MemberStatus.LAPSED:
        return "Your membership has lapsed. Renew your dues to claim licences again."
    return "Your membership is cancelled, so you cannot claim licences."


def _take_key(session: Session, product: Product, prefer: int) -> int | None:
    """Mark one available key claimed (`prefer` first) and return its id (None: none left)."""
    pick = (
        select(LicenceKey.id)
        .where(LicenceKey.product_id == product.id, LicenceKey.status == KeyStatus.AVAILABLE)
        .order_by((LicenceKey.id == prefer).desc(), LicenceKey.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Concurrent claimers skip each other's locked rows instead of queueing on one key.
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(LicenceKey)
        .where(LicenceKey.id == pick.scalar_subquery())
        .values(status=KeyStatus.CLAIMED.value)
        .returning(LicenceKey.id)
    )
    return session.scalar(stmt, execution_options={"synchronize_session": False})


def _take_seat(session: Session, product: Product) -> bool:
    """Count one more seat used, unless the pool is full (one guarded UPDATE)."""
    result = session.execute(
        update(Product)
        .where(Product.id == product.id, Product.seats_used < Product.seats_total)
        .values(seats_used=Product.seats_used + 1),
        execution_options={"synchronize_session": False},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _holds(session: Session, member: Member, product: Product) -> bool:
    live = select(Claim.id).where(
        Claim.member_id == member.id, Claim.product_id == product.id, Claim.released_at.is_(None)
    )
    return session.scalar(live) is not None


def _write_claim(
    session: Session, member: Member, product: Product, now: datetime, last: Claim | None
) -> Claim:
    claim = Claim(member_id=member.id, product_id=product.id, claimed_at=now)
    if product.kind == ProductKind.KEY:
        key_id = _take_key(session, product, _old_key(last))
        if key_id is None:
            raise Conflict(SOLD_OUT)
        claim.licence_key_id = key_id
    elif product.kind == ProductKind.SEAT:
        if not _take_seat(session, product):
            raise Conflict(SOLD_OUT)
    else:
        claim.link_token = (last.link_token if last else None) or secrets.token_urlsafe(18)
    session.add(claim)
    session.flush()
    return claim


def _claim_key_pg(
    session: Session, member: Member, product: Product, now: datetime, prefer: int
) -> int:
    params = {"product_id": product.id, "member_id": member.id, "now": now, "prefer": prefer}
    claim_id, found, taken = session.execute(claims_sql.CLAIM_KEY, params).one()
    if claim_id is not None:
        assert taken == 1
        return int(claim_id)
    if found or _holds(session, member, product):
        raise Conflict(ALREADY_HELD)
    raise Conflict(SOLD_OUT)


def _claimable(session: Session, product_id: int) -> Product:
    """An active product of an active channel (one query), else NotFound."""
    product = session.scalar(
        select(Product)
        .join(Channel, Channel.id == Product.channel_id)
        .where(Product.id == product_id, Product.active.is_(True), Channel.active.is_(True))
    )
    if product is None:
        raise NotFound("No such product.")
    return product


def _last_claim(session: Session, member: Member, product: Product) -> Claim | None:
    """The member's most recent ended claim on the product, if any."""
    return session.scalar(
        select(Claim)
        .where(
            Claim.member_id == member.id,
            Claim.product_id == product.id,
            Claim.released_at.is_not(None),
        )
        .order_by(Claim.stock_retired.desc(), Claim.released_at.desc(), Claim.id.desc())
        .limit(1)
    )


def _old_key(last: Claim | None) -> int:
    return last.licence_key_id if last and last.licence_key_id is not None else -1


def _take_back(session: Session, member: Member, last: Claim, now: datetime) -> int:
    """Hand the member the licence their ended claim burnt (the stock moves to the new claim).

    The conditional UPDATE is the hand-over: of two racing requests of the member, the
    second matches no row and is told they already hold it.
    """
    moved = session.execute(
        update(Claim)
        .where(Claim.id == last.id, Claim.stock_retired.is_(True))
        .values(stock_retired=False)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise Conflict(ALREADY_HELD)
    if last.licence_key_id is not None:
        session.execute(
            update(LicenceKey)
            .where(LicenceKey.id == last.licence_key_id)
            .values(status=KeyStatus.CLAIMED.value),
            execution_options={"synchronize_session": False},
        )
    made = Claim(
        member_id=member.id,
        product_id=last.product_id,
        licence_key_id=last.licence_key_id,
        link_token=last.link_token,
        claimed_at=now,
    )
    session.add(made)
    session.flush()
    return made.id


def claim(session: Session, member: Member, product_id: int, now: datetime | None = None) -> int:
    """Give the member one licence of the product, or refuse with a reason; all or nothing.

    Returns the new claim's id.
    """
    now = now or utcnow()
    if _is_pg(session) and standing_problem(member, now) is None:
        params = {"product_id": product_id, "member_id": member.id, "now": now}
        made = session.execute(claims_sql.USUAL_CLAIM, params).scalar()
        if made is not None:
            return int(made)
        # Not the usual claim (not a key product, or a licence to hand back) or a refusal:
        # the general path below finds out which, and changes nothing the above did not.
    product = _claimable(session, product_id)
    problem = standing_problem(member, now)
    if problem:
        raise Forbidden(problem)
    last = _last_claim(session, member, product)
    burnt = last is not None and last.stock_retired
    if not burnt and product.kind == ProductKind.KEY and _is_pg(session):
        return _claim_key_pg(session, member, product, now, _old_key(last))
    if _holds(session, member, product):
        raise Conflict(ALREADY_HELD)
    # A savepoint, so a lost race (the partial unique index fires) undoes the key or seat
    # we took and the request can still answer with a clear message.
    savepoint = session.begin_nested()
    try:
        if burnt:
            assert last is not None
            made_id = _take_back(session, member, last, now)
        else:
            made_id = _write_claim(session, member, product, now, last).id
    except IntegrityError:
        savepoint.rollback()
        raise Conflict(ALREADY_HELD) from None
    except DomainError:
        savepoint.rollback()
        raise
    savepoint.commit()
    return made_id


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _end(session: Session, claim: Claim, product: Product, reason: str, now: datetime) -> None:
    """End a live claim; reassignable stock goes back on the shelf, the rest is retired."""
    claim.released_at = now
    claim.end_reason = reason
    # Burnt stock is kept for this member: claiming again hands the same licence back.
    claim.stock_retired = not product.reassignable and product.kind != ProductKind.LINK
    if claim.licence_key_id is not None:
        status = KeyStatus.AVAILABLE if product.reassignable else KeyStatus.RETIRED
        session.execute(
            update(LicenceKey)
            .where(LicenceKey.id == claim.licence_key_id)
            .values(status=status.value),
            execution_options={"synchronize_session": False},
        )
    elif product.kind == ProductKind.SEAT and product.reassignable:
        session.execute(
            update(Product)
            .where(Product.id == product.id, Product.seats_used > 0)
            .values(seats_used=Product.seats_used - 1),
            execution_options={"synchronize_session": False},
        )
    session.flush()


def get_claim_for_member(session: Session, member: Member, claim_id: int) -> Claim:
    """A live claim of this member (anyone else's, or an unknown id, is simply not found)."""
    found = session.get(Claim, claim_id)
    if found is None or found.member_id != member.id or found.released_at is not None:
        raise NotFound("No such licence among yours.")
    return found


def release(session: Session, member: Member, claim_id: int, now: datetime | None = None) -> str:
    """The member gives a licence back; returns the product's name for the message."""
    held = get_claim_for_member(session, member, claim_id)
    product = session.get(Product, held.product_id)
    assert product is not None
    _end(session, held, product, "released", now or utcnow())
    return product.name


def lapsed_condition(now: datetime) -> object:
    """SQL condition: the member is not in good standing at `now` (mirrors Member)."""
    good = or_(
        Member.status == MemberStatus.ACTIVE.value,
        and_(Member.status == MemberStatus.PAST_DUE.value, Member.grace_until > now),
    )
    return not_(good)


def reclaim(session: Session, now: datetime | None = None) -> int:
    """End every live claim of members no longer in good standing; safe to run again."""
    now = now or utcnow()
    rows = session.execute(
        select(Claim, Product)
        .join(Product, Product.id == Claim.product_id)
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.released_at.is_(None), lapsed_condition(now))  # type: ignore[arg-type]
        .order_by(Claim.id)
    ).all()
    for held, product in rows:
        _end(session, held, product, "reclaimed", now)
    return len(rows)


@dataclass(frozen=True)
class HeldLicence:
    """One line of "My licences" (the key value is shown to its holder only)."""

    claim_id: int
    product_id: int
    product_name: str
    vendor_name: str
    kind: str
    key: str | None
    link: str | None
    claimed_at: datetime
    reassignable: bool


def redemption_link(product: Product, token: str | None) -> str | None:
    """The member's redemption link: `{token}` in the product URL becomes their token."""
    if not product.redemption_url:
        return None
    if "{token}" in product.redemption_url:
        return product.redemption_url.replace("{token}", token or "")
    return product.redemption_url


def my_licences(session: Session, member: Member) -> list[HeldLicence]:
    """The member's live claims, newest first, in one query."""
    rows = session.execute(
        select(Claim, Product, Vendor.name, LicenceKey.value)
        .join(Product, Product.id == Claim.product_id)
        .join(Vendor, Vendor.id == Product.vendor_id)
        .outerjoin(LicenceKey, LicenceKey.id == Claim.licence_key_id)
        .where(Claim.member_id == member.id, Claim.released_at.is_(None))
        .order_by(Claim.claimed_at.desc(), Claim.id.desc())
    ).all()
    return [
        HeldLicence(
            claim_id=c.id,
            product_id=p.id,
            product_name=p.name,
            vendor_name=vendor_name,
            kind=p.kind,
            key=key_value,
            link=redemption_link(p, c.link_token) if p.kind == ProductKind.LINK else None,
            claimed_at=c.claimed_at,
            reassignable=p.reassignable,
        )
        for c, p, vendor_name, key_value in rows
    ]


def held_product_ids(session: Session, member: Member, product_ids: list[int]) -> set[int]:
    """Which of these products the member holds a live claim on (one query)."""
    if not product_ids:
        return set()
    return set(
        session.scalars(
            select(Claim.product_id).where(
                Claim.member_id == member.id,
                Claim.released_at.is_(None),
                Claim.product_id.in_(product_ids),
            )
        )
    )
