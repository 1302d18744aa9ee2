"""Settling a ballot's chosen deals at once has settle_deal's effects, deal by deal."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Product
from market.db import utcnow
from market.deals.models import Deal, DealEvent
from market.deals.settle import settle_deal
from market.deals.settle_many import settle_chosen
from market.errors import DomainError
from market.ledger.models import LedgerTransaction
from market.ledger.services import balance, channel_code, vendor_code
from tests.catalog.factories import make_channel
from tests.market.deals.factories import fund_channel, make_deal
from tests.market.factories import make_member


def _effects(session: Session, deal_id: int) -> tuple:  # type: ignore[type-arg]
    deal = session.get(Deal, deal_id)
    assert deal is not None
    product = session.get(Product, deal.product_id)
    assert product is not None and deal.settled_at is not None and deal.ends_at is not None
    booked = session.scalar(
        select(LedgerTransaction.kind).where(LedgerTransaction.key == f"deal:{deal.id}:settle")
    )
    moves = session.scalars(
        select(DealEvent.to_status).where(DealEvent.deal_id == deal.id).order_by(DealEvent.id)
    ).all()
    return (
        deal.status,
        deal.seats_bought,
        deal.cost_cents,
        deal.ends_at - deal.settled_at,
        product.seats_total,
        balance(session, vendor_code(deal.vendor_id)),
        booked,
        moves[-1],
    )


def test_same_effects_as_settle_deal(session: Session) -> None:
    admin = make_member(session, admin=True)
    channel = make_channel(session)
    fund_channel(session, channel, 50_000)
    one, two, three = (
        make_deal(session, admin=admin, channel=channel, stage="accepted", group_buy=False)[0]
        for _ in range(3)
    )
    now = utcnow()
    settle_deal(session, one.id, currency="usd", ratify_above=10**9, now=now)
    assert settle_chosen(session, [two.id, three.id], currency="usd", now=now, why="Test.") == [
        two.id,
        three.id,
    ]
    session.expire_all()
    assert _effects(session, one.id) == _effects(session, two.id) == _effects(session, three.id)
    assert balance(session, channel_code(channel.id)) == 50_000 - 3 * 5_400
    # Again: nothing is claimed, nothing booked twice.
    assert settle_chosen(session, [two.id], currency="usd", now=now, why="Again.") == []
    assert balance(session, channel_code(channel.id)) == 50_000 - 3 * 5_400


def test_refused_when_the_channel_cannot_pay(session: Session) -> None:
    admin = make_member(session, admin=True)
    channel = make_channel(session)
    fund_channel(session, channel, 10_000)
    deals = [
        make_deal(session, admin=admin, channel=channel, stage="accepted", group_buy=False)[0]
        for _ in range(2)
    ]
    with pytest.raises(DomainError, match="available"):
        settle_chosen(session, [d.id for d in deals], currency="usd", now=utcnow(), why="")
    assert balance(session, channel_code(channel.id)) == 10_000
