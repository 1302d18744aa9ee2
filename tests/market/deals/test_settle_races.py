"""Settling the same deal from several workers at once has exactly one effect (real DB)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from catalog.models import Product
from market import create_app
from market.deals.models import Commitment, Deal
from market.deals.settle import Settlement, settle_deal
from market.errors import DomainError
from market.ledger.models import LedgerTransaction
from market.ledger.services import balance, check_books, vendor_code
from market.notifications.models import Notification
from market.webdb import database
from tests.catalog.factories import make_channel
from tests.market.deals.factories import fund_channel, make_deal
from tests.market.factories import make_member
from tests.support import app_config


def test_concurrent_settles_book_and_provision_once(live_database: str) -> None:
    app = create_app(app_config(DATABASE_URL=live_database))
    db = database(app)
    with db.transaction() as s:
        channel = make_channel(s, name="Safe & Private")
        fund_channel(s, channel, 18_000)
        deal, _ = make_deal(s, channel=channel, stage="accepted", min_members=50)
        s.add_all(Commitment(deal_id=deal.id, member_id=make_member(s).id) for _ in range(57))
        deal_id = deal.id
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        try:
            with db.transaction() as s:
                result: Settlement = settle_deal(s, deal_id, currency="usd", ratify_above=10**9)
            outcome = result.outcome
        except DomainError as exc:  # pragma: no cover - would be a bug; shown in the assert
            outcome = exc.message
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["already", "already", "already", "tipped"]
    with db.transaction() as s:
        got = s.get(Deal, deal_id)
        assert got is not None and got.status == "active"
        product = s.get(Product, got.product_id)
        assert product is not None and product.seats_total == 57
        assert balance(s, vendor_code(got.vendor_id)) == 5130
        deal_txns = select(func.count(LedgerTransaction.id)).where(
            LedgerTransaction.key == f"deal:{deal_id}:settle"
        )
        assert s.scalar(deal_txns) == 1
        # One notice for each committed member (the admin was also told of the vendor's offer).
        committed = select(Commitment.member_id).where(Commitment.deal_id == deal_id)
        told = select(func.count(Notification.id)).where(Notification.member_id.in_(committed))
        assert s.scalar(told) == 57
        assert check_books(s) == []
    db.engine.dispose()
