"""Reading the shelf: the catalogue pages, stock levels and seat usage (constant queries).

"How many are left" comes from one grouped query per page, never one query per product.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from catalog.models import Channel, Claim, KeyStatus, LicenceKey, Product, ProductKind, Vendor
from catalog.services import leader_ids
from market.errors import NotFound

PER_PAGE = 20
LOW_STOCK_LEFT = 5
LOW_STOCK_FRACTION = 10  # per cent


@dataclass(frozen=True)
class Shelf:
    """One product as members see it (no key values, ever)."""

    product: Product
    vendor: Vendor
    channel: Channel
    left: int | None  # None: a link, there is no stock to run out
    total: int | None
    leader: bool = False


@dataclass(frozen=True)
class CataloguePage:
    """One page of the catalogue, with the filters that produced it."""

    items: list[Shelf]
    page: int
    pages: int
    total: int


def _key_counts(session: Session, product_ids: list[int]) -> dict[int, tuple[int, int]]:
    """product id -> (available keys, keys not retired), in one grouped query."""
    if not product_ids:
        return {}
    available = func.sum(case((LicenceKey.status == KeyStatus.AVAILABLE.value, 1), else_=0))
    rows = session.execute(
        select(LicenceKey.product_id, available, func.count())
        .where(LicenceKey.product_id.in_(product_ids), LicenceKey.status != "retired")
        .group_by(LicenceKey.product_id)
    ).all()
    return {pid: (int(avail or 0), int(total)) for pid, avail, total in rows}


def _left(product: Product, keys: dict[int, tuple[int, int]]) -> tuple[int | None, int | None]:
    if product.kind == ProductKind.KEY:
        return keys.get(product.id, (0, 0))
    if product.kind == ProductKind.SEAT:
        return product.seats_total - product.seats_used, product.seats_total
    return None, None


def _shelve(
    session: Session, rows: list[tuple[Product, Vendor, Channel]], leaders: set[int]
) -> list[Shelf]:
    keys = _key_counts(session, [p.id for p, _, _ in rows if p.kind == ProductKind.KEY])
    return [Shelf(p, v, c, *_left(p, keys), leader=v.id in leaders) for p, v, c in rows]


def _shelf_query() -> Select[Product, Vendor, Channel]:
    return (
        select(Product, Vendor, Channel)
        .join(Vendor, Vendor.id == Product.vendor_id)
        .join(Channel, Channel.id == Product.channel_id)
    )


def browse(
    session: Session,
    *,
    channel_id: int | None = None,
    category: str = "",
    query: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
    leader_share_bp: int = 2000,
) -> CataloguePage:
    """Active products of active channels, filtered and paginated, in four queries."""
    conditions: list[ColumnElement[bool]] = [Product.active.is_(True), Channel.active.is_(True)]
    if channel_id:
        conditions.append(Product.channel_id == channel_id)
    if category:
        conditions.append(Product.category == category.lower())
    words = query.strip().lower()
    if words:
        escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(func.lower(Product.name).like(f"%{escaped}%", escape="\\"))
    total = (
        session.scalar(
            select(func.count())
            .select_from(Product)
            .join(Channel, Channel.id == Product.channel_id)
            .where(*conditions)
        )
        or 0
    )
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        _shelf_query()
        .where(*conditions)
        .order_by(Product.name, Product.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    leaders = leader_ids(session, leader_share_bp)
    items = _shelve(session, [(p, v, c) for p, v, c in rows], leaders)
    return CataloguePage(items, page, pages, total)


def product_shelf(
    session: Session, product_id: int, leader_share_bp: int, admin: bool = False
) -> Shelf:
    """One product with its stock and whether its vendor is a leader."""
    query = _shelf_query().where(Product.id == product_id)
    if not admin:
        query = query.where(Product.active.is_(True), Channel.active.is_(True))
    row = session.execute(query).first()
    if row is None:
        raise NotFound("No such product.")
    product, vendor, channel = row
    leaders = leader_ids(session, leader_share_bp)
    return _shelve(session, [(product, vendor, channel)], leaders)[0]


@dataclass(frozen=True)
class StockLine:
    """A product's stock for the admins' stock page."""

    shelf: Shelf
    holders: int
    low: bool
    burnt: int = 0  # licences used up by releases (non-reassignable stock never returns)


def is_low(left: int | None, total: int | None) -> bool:
    """Low stock: fewer than 5 left, or under 10 % of the pool."""
    if left is None or total is None:
        return False
    return left < LOW_STOCK_LEFT or left * 100 < total * LOW_STOCK_FRACTION


def stock(session: Session, leader_share_bp: int) -> list[StockLine]:
    """Every product (active or not) with what is left and how many members hold one."""
    rows = session.execute(_shelf_query().order_by(Channel.name, Product.name)).all()
    shelves = _shelve(
        session, [(p, v, c) for p, v, c in rows], leader_ids(session, leader_share_bp)
    )
    live = func.sum(case((Claim.released_at.is_(None), 1), else_=0))
    burnt = func.sum(case((Claim.stock_retired.is_(True), 1), else_=0))
    counts = {
        pid: (int(h or 0), int(b or 0))
        for pid, h, b in session.execute(
            select(Claim.product_id, live, burnt).group_by(Claim.product_id)
        ).all()
    }
    return [
        StockLine(
            s,
            counts.get(s.product.id, (0, 0))[0],
            s.product.active and is_low(s.left, s.total),
            counts.get(s.product.id, (0, 0))[1],
        )
        for s in shelves
    ]


def seat_usage(session: Session, vendor_id: int) -> list[tuple[str, str, int, int, int]]:
    """A vendor's products: (name, kind, seats total, seats used, members holding) for true-ups.

    For key pools the seats are keys: total counts every key bought, used every key handed
    out (claimed, or retired after use). Links have no pool: used is the live claims.
    """
    rows = (
        session.execute(
            select(Product).where(Product.vendor_id == vendor_id).order_by(Product.name)
        )
        .scalars()
        .all()
    )
    ids = [p.id for p in rows]
    holders = (
        dict(
            session.execute(
                select(Claim.product_id, func.count())
                .where(Claim.released_at.is_(None), Claim.product_id.in_(ids))
                .group_by(Claim.product_id)
            ).all()
        )
        if ids
        else {}
    )
    keys = (
        dict(
            (pid, (int(total), int(used or 0)))
            for pid, total, used in session.execute(
                select(
                    LicenceKey.product_id,
                    func.count(),
                    func.sum(case((LicenceKey.status != KeyStatus.AVAILABLE.value, 1), else_=0)),
                )
                .where(LicenceKey.product_id.in_(ids))
                .group_by(LicenceKey.product_id)
            ).all()
        )
        if ids
        else {}
    )
    out = []
    for p in rows:
        if p.kind == ProductKind.KEY:
            total, used = keys.get(p.id, (0, 0))
        elif p.kind == ProductKind.SEAT:
            total, used = p.seats_total, p.seats_used
        else:
            total, used = 0, int(holders.get(p.id, 0))
        out.append((p.name, p.kind, total, used, int(holders.get(p.id, 0))))
    return out
