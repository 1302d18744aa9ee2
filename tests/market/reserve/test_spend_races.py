"""Two closes of the same decision at once book one transfer (real database, threads)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from market import create_app
from market.clock import utcnow
from market.ledger.models import LedgerTransaction
from market.ledger.services import ACQUISITION, balance, check_books, vendor_code
from market.proposals.models import Proposal
from market.reserve.jobs import settle_closed
from market.reserve.models import ReserveSpend, spend_key
from market.webdb import database
from tests.catalog.factories import make_vendor
from tests.market.factories import make_member
from tests.market.reserve.factories import make_reserve, propose
from tests.support import app_config


def test_concurrent_settles_of_one_decision_book_one_transfer(live_database: str) -> None:
    app = create_app(app_config(DATABASE_URL=live_database))
    db = database(app)
    with db.transaction() as s:
        make_reserve(s, cents=10_000)
        vendor = make_vendor(s)
        spend = propose(s, vendor, 8_000)
        from market.proposals.services import take_position

        proposal = s.get(Proposal, spend.proposal_id)
        assert proposal is not None
        for _ in range(3):
            take_position(s, make_member(s), proposal, "agree", None)
        s.execute(
            update(Proposal)
            .where(Proposal.id == proposal.id)
            .values(closes_at=utcnow() - timedelta(seconds=1))
        )
        spend_id, proposal_id, vendor_id = spend.id, proposal.id, vendor.id
    barrier = threading.Barrier(4)
    lines: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        got = settle_closed(db)
        with lock:
            lines.extend(got)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert any("booked" in line for line in lines)
    with db.transaction() as s:
        key = spend_key(proposal_id)
        count = (
            select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.key == key)
        )
        assert s.scalar(count) == 1
        assert balance(s, ACQUISITION) == 2_000 and balance(s, vendor_code(vendor_id)) == 8_000
        got = s.get(ReserveSpend, spend_id)
        assert got is not None and got.status == "booked"
        assert check_books(s) == []
    db.engine.dispose()
