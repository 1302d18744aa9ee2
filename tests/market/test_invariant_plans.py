"""Every registered invariant check reads each table once: none compares every row of one
table with every row of another.

SQLite joins by nested loops only, so a join whose inner table cannot be reached through an
index (a key built from the outer row, say) reads the inner table once per outer row. The
simulated year ran its checks every day and one such join took most of its time. The plans
do not depend on the data (no statistics are gathered), so an empty database shows them.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from market.invariants import run_all

pytestmark = pytest.mark.backends("sqlite")


def _statements(app: Flask, session: Session) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        run_all(app, session)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def quadratic_steps(plan: list[tuple[int, int, str]]) -> list[str]:
    """The full scans that run once per row of an enclosing loop.

    A plan row is (id, parent, detail). Loops of one join are siblings, outermost first: a
    SCAN after the first loop of its group is a scan per outer row. A SCAN anywhere inside
    a correlated subquery runs once per row of the query around it.
    """
    parent_of = {node: parent for node, parent, _ in plan}
    detail_of = {node: detail for node, _, detail in plan}

    def correlated(node: int) -> bool:
        while node in parent_of:
            node = parent_of[node]
            if detail_of.get(node, "").startswith("CORRELATED"):
                return True
        return False

    found = []
    loops_before: dict[int, int] = {}
    for node, parent, detail in plan:
        if not detail.startswith(("SCAN", "SEARCH")):
            continue
        inner = loops_before.get(parent, 0) > 0
        loops_before[parent] = loops_before.get(parent, 0) + 1
        full_scan = detail.startswith("SCAN") and "CONSTANT ROW" not in detail
        if full_scan and (inner or correlated(node)):
            found.append(detail)
    return found


def test_a_scan_inside_a_loop_is_found() -> None:
    # The plan of the invoice check as it was: every transaction against every invoice.
    plan = [(3, 0, "SCAN ledger_txn"), (5, 0, "SCAN dues_invoice LEFT-JOIN")]
    assert quadratic_steps(plan) == ["SCAN dues_invoice LEFT-JOIN"]
    indexed = [(3, 0, "SCAN ledger_txn"), (5, 0, "SEARCH dues_invoice USING INDEX x (id=?)")]
    assert quadratic_steps(indexed) == []
    nested = [(2, 0, "SCAN a"), (4, 0, "CORRELATED SCALAR SUBQUERY 1"), (7, 4, "SCAN b")]
    assert quadratic_steps(nested) == ["SCAN b"]


def test_no_invariant_check_reads_a_table_once_per_row(app: Flask, session: Session) -> None:
    statements = _statements(app, session)
    assert len(statements) >= len(app.extensions["softcoop.invariants"])
    problems = []
    for statement, params in statements:
        explain = "EXPLAIN QUERY PLAN " + statement
        rows = session.connection().exec_driver_sql(explain, tuple(params or ())).all()
        plan = [(int(r[0]), int(r[1]), str(r[3])) for r in rows]
        for step in quadratic_steps(plan):
            problems.append(f"{step} in: {' '.join(statement.split())[:300]}")
    assert problems == []


def test_the_invoice_check_finds_each_kind_of_wrong_booking(session: Session) -> None:
    from market.billing.invariants import invoices_booked_once
    from market.billing.models import DuesInvoice
    from market.clock import period_of, utcnow
    from market.ledger.services import RESERVE, Move, pool_code, post
    from tests.market.factories import make_member

    now = utcnow()
    member = make_member(session)
    month = period_of(now)

    def invoice(iid: str, status: str) -> None:
        paid = now if status == "paid" else None
        session.add(
            DuesInvoice(
                id=iid, member_id=member.id, amount_cents=500, currency="USD", month=month,
                status=status, paid_at=paid, created_at=now,
            )
        )  # fmt: skip

    def book(iid: str) -> None:
        moves = [Move(RESERVE, pool_code(month), 500)]
        post(session, f"invoice:{iid}", "dues", "dues", moves, "USD", occurred_at=now)

    invoice("in_booked", "paid")
    book("in_booked")
    invoice("in_unbooked", "paid")
    invoice("in_open", "open")
    book("in_open")
    book("in_missing")
    session.flush()
    assert sorted(invoices_booked_once(session)) == [
        "invoice:in_missing is booked but its invoice is not paid",
        "invoice:in_open is booked but its invoice is not paid",
        "paid invoice in_unbooked is not booked",
    ]
    session.rollback()
