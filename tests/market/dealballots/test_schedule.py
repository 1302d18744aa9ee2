"""The schedule closes and publishes a deal ballot at its closing time, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.dealballots import services
from market.dealballots.models import DealBallot
from market.jobs import schedule
from market.jobs.models import JobRun
from market.ledger.models import LedgerTransaction
from tests.catalog.factories import make_channel
from tests.market.dealballots.factories import accepted_deals, open_ballot
from tests.market.deals.factories import fund_channel
from tests.market.factories import make_member


@pytest.fixture
def app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    return make_app()


def _runs(session: Session) -> list[JobRun]:
    session.expire_all()
    return list(
        session.scalars(
            select(JobRun).where(JobRun.job == "deal_ballots.close").order_by(JobRun.id)
        )
    )


def test_the_ballot_closes_at_its_time_once(app: Flask, session: Session) -> None:
    admin = make_member(session, admin=True)
    channel = make_channel(session)
    fund_channel(session, channel, 15_000)
    deals = accepted_deals(session, admin, channel, [60, 100])
    ballot = open_ballot(session, channel, deals, admin=admin, closes_in=timedelta(hours=2))
    services.cast_approvals(session, make_member(session), ballot.id, [deals[1].id])
    session.commit()

    schedule.tick(app, ballot.closes_at - timedelta(minutes=1))
    assert _runs(session) == []  # not before its time
    schedule.tick(app, ballot.closes_at + timedelta(minutes=1))
    schedule.tick(app, ballot.closes_at + timedelta(minutes=2))
    [run] = _runs(session)
    assert run.status == "succeeded" and run.target_id == ballot.id, run.message
    published = session.get(DealBallot, ballot.id, populate_existing=True)
    assert published is not None and published.status == "published" and published.audit_head
    booked = session.scalar(
        select(func.count())
        .select_from(LedgerTransaction)
        .where(LedgerTransaction.key == f"deal:{deals[1].id}:settle")
    )
    assert booked == 1
