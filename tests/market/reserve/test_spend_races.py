"""Two closes of the same decision at once book one transfer (real database, threads)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from catalog.models import Vendor
from market import create_app
from market.clock import utcnow
from market.ledger.models import LedgerTransaction
from market.ledger.services import ACQUISITION, balance, check_books, get_account, vendor_code
from market.proposals.models import Proposal
from market.proposals.services import take_position
from market.reserve.jobs import settle_closed
from market.reserve.models import ReserveSpend, spend_key
from market.reserve.spending import settle_spend
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


def _passed(session: Session, vendor: Vendor, cents: int) -> int:
    """A decision to spend `cents` on `vendor` that passed and closed; its spend's id."""
    spend = propose(session, vendor, cents)
    proposal = session.get(Proposal, spend.proposal_id)
    assert proposal is not None
    for _ in range(3):
        take_position(session, make_member(session), proposal, "agree", None)
    session.execute(
        update(Proposal)
        .where(Proposal.id == proposal.id)
        .values(closes_at=utcnow() - timedelta(seconds=1))
    )
    return spend.id


def test_a_decision_waiting_on_another_sees_what_it_spent(live_database: str) -> None:
    """Two passed decisions of 7,000 from a reserve of 10,000: the one settled second waits
    for the first's lock and then must see the first's transfer (booked into the account's
    slots, not its row), so it is refused and the reserve never goes below zero."""
    app = create_app(app_config(DATABASE_URL=live_database))
    db = database(app)
    with db.transaction() as s:
        make_reserve(s, cents=10_000)
        vendor = make_vendor(s)
        get_account(s, vendor_code(vendor.id), "usd")  # both accounts exist: the fast path
        first, second = _passed(s, vendor, 7_000), _passed(s, vendor, 7_000)
    booked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def settle_first() -> None:
        try:
            with db.transaction() as s:
                settle_spend(s, first)
                booked.set()
                release.wait(30)  # hold the reserve's lock while the second one asks for it
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            booked.set()

    def settle_second() -> None:
        try:
            with db.transaction() as s:
                settle_spend(s, second)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    a = threading.Thread(target=settle_first)
    a.start()
    assert booked.wait(30)
    b = threading.Thread(target=settle_second)
    b.start()
    time.sleep(0.5)  # the second is now waiting on the reserve's lock
    release.set()
    a.join(30)
    b.join(30)
    assert errors == []
    with db.transaction() as s:
        statuses = {s.get(ReserveSpend, i).status for i in (first, second)}  # type: ignore[union-attr]
        assert statuses == {"booked", "refused"}
        assert balance(s, ACQUISITION) == 3_000
        assert check_books(s) == []
    db.engine.dispose()
