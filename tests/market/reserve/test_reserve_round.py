"""The reserve on the ballot: a round's part for it is kept, never a payable, never paid out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from allocation import recount
from allocation.closing import close_and_publish
from allocation.models import RoundResult
from allocation.payouts import channel_balances, record_payout
from catalog.services import ProductInput, list_channels, save_product
from market.deals.negotiation import DealInput, open_deal
from market.errors import DomainError
from market.invariants import run_all
from market.ledger.services import ACQUISITION, balance, channel_code, pool_code
from market.webdb import database
from tests.allocation.factories import audit_copy, fund_pool, open_round, vote
from tests.catalog.factories import make_product, make_vendor
from tests.market.factories import make_member
from tests.market.reserve.factories import make_reserve


def test_a_published_round_keeps_the_reserve_part_and_it_recounts(
    make_app: object, session: Session, tmp_path: Path
) -> None:
    app: Flask = make_app()  # type: ignore[operator]
    admin = make_member(session, admin=True)
    reserve = make_reserve(session, admin)
    voters = [make_member(session) for _ in range(10)]
    rnd, (channel,) = open_round(session, admin, channels=1)
    for i, member in enumerate(voters):
        split = {reserve.id: 2500, channel.id: 7500} if i % 2 else {channel.id: 10_000}
        vote(session, member, rnd, split)
    fund_pool(session, rnd.period, 100_000)
    session.commit()
    close_and_publish(database(app), rnd.id)
    session.expire_all()
    results = {r.channel_id: r.cents for r in session.query(RoundResult).filter_by(round_id=rnd.id)}
    assert results[reserve.id] > 0 and sum(results.values()) == 100_000
    assert balance(session, ACQUISITION) == results[reserve.id]
    assert balance(session, channel_code(reserve.id)) == 0  # no payable: nothing to pay out
    assert balance(session, channel_code(channel.id)) == results[channel.id]
    assert balance(session, pool_code(rnd.period)) == 0
    path = audit_copy(session, rnd.id, tmp_path)
    assert "Acquisition reserve" in path.read_text()
    assert recount.recount(path).matches
    assert [b.channel_id for b in channel_balances(session)] == [channel.id]
    with pytest.raises(DomainError, match="never paid out"):
        record_payout(session, admin, reserve.id, 1, date.today(), "RESERVE-1")
    assert all(not found for found in run_all(app, session).values())


def test_the_reserve_is_not_a_channel_for_products_deals_or_wants(session: Session) -> None:
    admin = make_member(session, admin=True)
    reserve = make_reserve(session, admin)
    assert reserve.id not in [c.id for c in list_channels(session)]
    vendor = make_vendor(session)
    data_in = ProductInput(vendor.id, reserve.id, "Reserve seats", "tools", "seat", seats_total=5)
    with pytest.raises(DomainError, match="holds no products"):
        save_product(session, admin, data_in, leader_share_bp=2000)
    product = make_product(session, kind="seat", vendor=make_vendor(session))
    data = DealInput("Use the reserve", product.id, reserve.id, 10, 12)
    with pytest.raises(DomainError, match="pays no deals"):
        open_deal(session, admin, data, 2000)
