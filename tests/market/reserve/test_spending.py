"""Spending the reserve: a passed decision with quorum moves money once; bad input writes none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.errors import DomainError, NotFound
from market.invariants import run_all
from market.ledger.models import LedgerTransaction
from market.ledger.services import ACQUISITION, Move, balance, post, vendor_code
from market.proposals.models import Position, Proposal
from market.reserve.models import ReserveSpend, spend_key
from market.reserve.spending import settle_spend
from tests.catalog.factories import make_vendor
from tests.market.factories import make_member
from tests.market.reserve.factories import decide, make_reserve, propose

Login = Callable[..., FlaskClient]


def _txns(session: Session, key: str) -> int:
    query = select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.key == key)
    return session.scalar(query) or 0


def _no_problems(app: Flask, session: Session) -> None:
    problems = {name: found for name, found in run_all(app, session).items() if found}
    assert problems == {}


def test_a_passed_decision_moves_the_amount_once(app: Flask, session: Session) -> None:
    make_reserve(session, cents=10_000)
    vendor = make_vendor(session, name="Platform Makers")
    spend = propose(session, vendor, 6_000)
    proposal = decide(session, spend, ["agree", "agree", "disagree", "abstain"])
    assert "$60.00" in proposal.body and "Platform Makers" in proposal.body
    settle_spend(session, spend.id)
    settle_spend(session, spend.id)  # a second run finds it done
    assert spend.status == "booked" and "moved" in (spend.outcome or "")
    assert _txns(session, spend_key(proposal.id)) == 1
    assert balance(session, ACQUISITION) == 4_000
    assert balance(session, vendor_code(vendor.id)) == 6_000
    _no_problems(app, session)


def test_those_who_took_part_are_told_where_the_money_went_once(session: Session) -> None:
    from market.notifications.models import Notification

    make_reserve(session, cents=10_000)
    vendor = make_vendor(session, name="Platform Makers")
    spend = propose(session, vendor, 6_000)
    proposal = decide(session, spend, ["agree", "agree", "disagree"])
    settle_spend(session, spend.id)
    settle_spend(session, spend.id)
    told = session.scalars(
        select(Notification).where(Notification.event_key == f"reserve-spend:{spend.id}:settled")
    ).all()
    took_part = {proposal.author_id} | {
        p.member_id
        for p in session.scalars(select(Position).where(Position.proposal_id == proposal.id))
    }
    assert sorted(n.member_id for n in told) == sorted(took_part)
    assert all("$60.00 moved" in n.body and n.link == f"/decisions/{proposal.id}" for n in told)
    assert {n.subject for n in told} == {"Money left the acquisition reserve"}

    # Two decisions for the same money: the second to settle is told nothing moved.
    first, second = propose(session, vendor, 3_000), propose(session, vendor, 3_000)
    for each in (first, second):
        decide(session, each, ["agree"] * 3)
    settle_spend(session, first.id)
    settle_spend(session, second.id)
    note = session.scalars(
        select(Notification).where(Notification.event_key == f"reserve-spend:{second.id}:settled")
    ).first()
    assert note is not None and note.subject == "The reserve spend moved nothing"
    assert "less than $30.00. Nothing moved." in note.body


def test_below_quorum_blocked_or_more_against_moves_nothing(app: Flask, session: Session) -> None:
    make_reserve(session, cents=10_000)
    for _ in range(20):
        make_member(session)  # 20 % of 20-odd members in good standing: 5 needed
    vendor = make_vendor(session)
    cases = {
        "below quorum: 2 of the 5 members needed": ["agree", "agree"],
        "standing block": ["agree"] * 5 + ["block"],
        "3 agree and 3 disagree": ["agree"] * 3 + ["disagree"] * 3,
    }
    for words, stances in cases.items():
        spend = propose(session, vendor, 1_000)
        decide(session, spend, stances)
        settle_spend(session, spend.id)
        assert spend.status == "not_passed", words
        assert "Nothing moved" in (spend.outcome or "")
        assert _txns(session, spend_key(spend.proposal_id)) == 0
    quorum = session.scalars(select(ReserveSpend)).first()
    assert quorum is not None and "2 of the 5 members needed" in (quorum.outcome or "")
    assert balance(session, ACQUISITION) == 10_000
    _no_problems(app, session)


def test_an_open_decision_moves_nothing_yet(session: Session) -> None:
    make_reserve(session, cents=5_000)
    spend = propose(session, make_vendor(session), 5_000)
    settle_spend(session, spend.id)
    assert spend.status == "pending" and balance(session, ACQUISITION) == 5_000


def test_two_passed_decisions_cannot_spend_the_same_money(app: Flask, session: Session) -> None:
    make_reserve(session, cents=10_000)
    vendor = make_vendor(session)
    first, second = propose(session, vendor, 7_000), propose(session, vendor, 7_000)
    for spend in (first, second):
        decide(session, spend, ["agree"] * 3)
    settle_spend(session, first.id)
    settle_spend(session, second.id)
    assert (first.status, second.status) == ("booked", "refused")
    assert "the reserve held $30.00, less than $70.00" in (second.outcome or "")
    assert balance(session, ACQUISITION) == 3_000
    _no_problems(app, session)


def test_bad_payees_and_amounts_are_refused_by_the_service(session: Session) -> None:
    make_reserve(session, cents=10_000)
    vendor = make_vendor(session)
    with pytest.raises(NotFound, match="no such payee"):
        propose(session, 999_999, 100)
    for cents, words in [
        (0, "more than zero"),
        (-5, "more than zero"),
        (10_001, r"holds \$100\.00"),
    ]:
        with pytest.raises(DomainError, match=words):
            propose(session, vendor, cents)
    with pytest.raises(DomainError, match="whole number of cents"):
        propose(session, vendor, 12.5)  # type: ignore[arg-type]
    assert session.scalar(select(func.count()).select_from(ReserveSpend)) == 0


def test_the_form_refuses_bad_input_and_writes_nothing(
    app: Flask, session: Session, login: Login
) -> None:
    make_reserve(session, cents=10_000)
    vendor = make_vendor(session, name="Kestrel")
    client = login(make_member(session))
    good = {
        "payee": str(vendor.id),
        "amount": "25.00",
        "title": "Buy Kestrel's platform",
        "reason": "We outgrew renting it.",
        "closes_at": (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
    }
    page = client.get("/reserve/spend").get_data(as_text=True)
    assert "Kestrel" in page and "$100.00" in page
    refusals = [
        ({"payee": "999999"}, "Not a valid choice"),
        ({"amount": "100.01"}, "The reserve holds $100.00"),
        ({"amount": "-5"}, ""),
        ({"amount": "0"}, "at least $0.01"),
        ({"amount": "1.005"}, ""),
        ({"amount": "abc"}, ""),
        ({"reason": ""}, "say why"),
    ]
    for change, words in refusals:
        response = client.post("/reserve/spend", data={**good, **change})
        assert response.status_code == 400, change
        assert words in response.get_data(as_text=True), change
    assert session.scalar(select(func.count()).select_from(Proposal)) == 0
    assert session.scalar(select(func.count()).select_from(ReserveSpend)) == 0
    ok = client.post("/reserve/spend", data=good)
    assert ok.status_code == 302 and "/decisions/" in ok.headers["Location"]
    detail = client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "needs a quorum" in detail and "0 have so far" in detail
    assert "$25.00" in detail and "acquisition reserve" in detail


def test_the_invariants_catch_money_leaving_the_reserve_without_a_decision(
    app: Flask, session: Session
) -> None:
    make_reserve(session, cents=1_000)
    with session.begin_nested() as tampered:
        post(
            session,
            "payout:sneaky",
            "payout",
            "a payout",
            [Move(ACQUISITION, "paid:out", 1_500)],
            "usd",
        )
        found = run_all(app, session)
        assert found["the acquisition reserve never goes negative"]
        assert (
            "took 1500 cents out"
            in found["every reserve spend has a passed decision with quorum"][0]
        )
        tampered.rollback()
    _no_problems(app, session)


def test_the_command_books_closed_decisions_once(app: Flask, session: Session) -> None:
    make_reserve(session, cents=3_000)
    spend = propose(session, make_vendor(session), 2_000)
    decide(session, spend, ["agree"] * 2)
    session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["reserve", "settle"])
    assert first.exit_code == 0 and f"spend {spend.id}" in first.output and "booked" in first.output
    again = runner.invoke(args=["reserve", "settle"])
    assert again.exit_code == 0 and "No spending decision was due." in again.output
    session.expire_all()
    assert balance(session, ACQUISITION) == 1_000
    assert _txns(session, spend_key(spend.proposal_id)) == 1
