"""The webhook's statements per event, pinned: fewer round trips were the speed-up (README,
"Webhook ingestion"), so a change that adds one fails here rather than in a benchmark."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from market.billing import statements
from market.ledger.models import LedgerTransaction
from market.members.models import Member
from tests.market.billing.stripe_fakes import (
    MONTH_START,
    deliver,
    event,
    invoice,
    make_dues_account,
)
from tests.market.factories import make_member
from tests.support import count_queries

# A first payment on PostgreSQL: the event row with the account's lock; the account's
# state, the member's status and the invoice (with its pool's month); the booking (its
# transaction, accounts locked, postings and balances: market.ledger.one_statement). SQLite
# has no data-modifying CTEs: there the first five are a statement each, the booking four.
FIRST_PAYMENT = {"postgresql": 3, "sqlite": 9}
# A delivery seen before: the insert that finds it, then its row read (locked) to be sure.
DUPLICATE = {"postgresql": 2, "sqlite": 2}


def test_statements_per_paid_invoice_event(
    client: FlaskClient, session: Session, engine: Engine
) -> None:
    members = [make_member(session, status="pending") for _ in range(2)]
    for i, member in enumerate(members):
        make_dues_account(session, member, f"cus_count_{i}")
    # The first delivery of the app warms what is built once (statements, pool accounts).
    deliver(client, event("invoice.paid", invoice("in_warm", "cus_count_0"), MONTH_START + 60))
    paid = event("invoice.paid", invoice("in_count", "cus_count_1"), MONTH_START + 60)
    with count_queries(engine) as statements:
        response = deliver(client, paid)
    assert response.json == {"status": "processed"}
    assert len(statements) == FIRST_PAYMENT[engine.dialect.name], statements
    with count_queries(engine) as statements:
        again = deliver(client, paid)
    assert again.json == {"status": "duplicate"}
    assert len(statements) == DUPLICATE[engine.dialect.name], statements
    session.expire_all()
    assert session.get(Member, members[1].id).status == "active"  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 2


def test_the_shared_out_check_reads_only_money_leaving_the_pool(
    session: Session, engine: Engine
) -> None:
    # Every paid invoice asks whether its month's pool was shared out. A pool takes one
    # posting per payment of its month and gives once, so the question must be answered
    # from the index of outflows, not by reading every payment (0.35 ms at 1,500, and more
    # each day of the month). Only the pool may be bound: a prepared statement's generic
    # plan cannot use a partial index whose predicate compares with a parameter.
    compiled = statements.POOL_CLOSED.compile(dialect=engine.dialect)
    assert list(compiled.params) == ["pool"]
    if engine.dialect.name == "sqlite":
        plan = (
            session.connection()
            .exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", ("pool:x",))
            .all()
        )
        assert any("ix_posting_outflow" in str(row[-1]) for row in plan), plan
