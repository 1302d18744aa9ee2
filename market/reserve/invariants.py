"""Invariants of the acquisition reserve, checked by `check invariants` and after every test.

The reserve never goes negative (at any point of its history); every movement out of it is
a booked spend of a decision that passed with its quorum; nothing else (payouts, deals)
ever touches it, and the reserve's ballot entry has no payable of its own.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Channel, ChannelKind
from market.invariants import register
from market.ledger.models import Account, LedgerTransaction, Posting
from market.ledger.services import ACQUISITION, channel_code
from market.proposals.models import Proposal
from market.proposals.results import proposal_passed
from market.reserve.models import ReserveSpend, SpendStatus, spend_key
from market.reserve.spending import SUBJECT


def _movements(session: Session) -> list[tuple[int, str, str, int]]:
    return [
        (tid, key, kind, int(cents))
        for tid, key, kind, cents in session.execute(
            select(
                LedgerTransaction.id,
                LedgerTransaction.key,
                LedgerTransaction.kind,
                Posting.amount_cents,
            )
            .join(Posting, Posting.txn_id == LedgerTransaction.id)
            .join(Account, Account.id == Posting.account_id)
            .where(Account.code == ACQUISITION)
            .order_by(LedgerTransaction.id)
        )
    ]


def never_negative(session: Session) -> list[str]:
    """The reserve's running balance never dips below zero."""
    running = 0
    for tid, _key, _kind, cents in _movements(session):
        running += cents
        if running < 0:
            return [f"the acquisition reserve went to {running} cents at transaction {tid}"]
    return []


def spends_have_passed_decisions(session: Session) -> list[str]:
    """Every movement out is a booked spend whose decision passed with its quorum."""
    problems = []
    booked = {
        spend_key(s.proposal_id): s
        for s in session.scalars(
            select(ReserveSpend).where(ReserveSpend.status == SpendStatus.BOOKED)
        )
    }
    for tid, key, kind, cents in _movements(session):
        if cents >= 0:
            continue
        spend = booked.get(key)
        if kind != SUBJECT or spend is None or -cents != spend.amount_cents:
            problems.append(f"transaction {tid} ({kind}) took {-cents} cents out of the reserve")
            continue
        proposal = session.get(Proposal, spend.proposal_id)
        if proposal is None or proposal.quorum_bp is None:
            problems.append(f"reserve spend {spend.id} has no decision with a quorum")
            continue
        passed, why = proposal_passed(session, proposal, spend.decided_at)
        if not passed:
            problems.append(
                f"reserve spend {spend.id} was booked but its decision did not pass: {why}"
            )
    return problems


def never_paid_out(session: Session) -> list[str]:
    """No payout, deal or round ever books to the reserve's ballot entry as a channel."""
    reserve_ids = list(
        session.scalars(select(Channel.id).where(Channel.kind == ChannelKind.RESERVE.value))
    )
    if not reserve_ids:
        return []
    # A payout or a deal books from a channel payable: the reserve's must never move.
    touched = session.execute(
        select(Account.code, LedgerTransaction.key)
        .join(Posting, Posting.account_id == Account.id)
        .join(LedgerTransaction, LedgerTransaction.id == Posting.txn_id)
        .where(Account.code.in_([channel_code(cid) for cid in reserve_ids]))
    ).all()
    return [
        f"{key} moved money through {code}: the reserve's part belongs in {ACQUISITION}"
        for code, key in touched
    ]


def register_all(app: Flask) -> None:
    """Add the reserve's checks to `check invariants`."""
    register(app, "the acquisition reserve never goes negative", never_negative)
    register(
        app, "every reserve spend has a passed decision with quorum", spends_have_passed_decisions
    )
    register(app, "nothing is paid out of the acquisition reserve", never_paid_out)
