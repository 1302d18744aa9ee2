"""The same event delivered 50 times at once to a multi-process server: one effect."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from market import create_app
from market.billing import services
from market.billing.models import StripeEvent
from market.ledger.models import LedgerTransaction
from market.ledger.services import balance, check_books, pool_code
from market.members.models import Member
from market.webdb import database
from tests import support
from tests.market.billing.stripe_fakes import (
    MONTH_START,
    THIS_MONTH,
    WEBHOOK_URL,
    event,
    invoice,
    sign,
)
from tests.market.factories import make_member


def test_fifty_concurrent_deliveries_book_once(live_database: str) -> None:
    app = create_app(support.app_config(DATABASE_URL=live_database))
    db = database(app)
    with db.transaction() as session:
        member = make_member(session, status="pending")
        services.link_customer(session, member, "cus_race")
        member_id = member.id
    evt = event("invoice.paid", invoice("in_race", "cus_race"), MONTH_START, event_id="evt_race")
    payload = json.dumps(evt).encode()
    env = {"STRIPE_WEBHOOK_SECRET": support.WEBHOOK_SECRET}
    with support.gunicorn_server(live_database, workers=4, env=env) as url:
        headers = {"Stripe-Signature": sign(payload), "Content-Type": "application/json"}

        def deliver(_: int) -> int:
            return requests.post(url + WEBHOOK_URL, data=payload, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(deliver, range(50)))
    assert statuses == [200] * 50
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1
        assert session.scalar(select(func.count()).select_from(StripeEvent)) == 1
        assert session.get(Member, member_id).status == "active"  # type: ignore[union-attr]
        assert check_books(session) == []
        assert balance(session, pool_code(THIS_MONTH)) == 450
    db.engine.dispose()
