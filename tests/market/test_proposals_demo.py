"""The demo's decision chapter tells STORY.md step 6."""

from __future__ import annotations

import random

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.clock import utcnow
from market.proposals.demo import OPS_TITLE, chapter_decisions
from market.proposals.models import Proposal
from market.proposals.results import results
from tests.market.factories import make_member


def test_demo_decision_is_blocked_flagged_and_has_an_outcome(app: Flask, session: Session) -> None:
    for i in range(30):
        make_member(session, email=f"member{i:03d}@commons.example")
    with app.app_context():
        chapter_decisions(app, session, random.Random(1), utcnow())
    ops = session.scalars(select(Proposal).where(Proposal.title == OPS_TITLE)).one()
    shown = results(session, ops)
    assert not shown.is_open and shown.blocked
    assert dict(shown.counts) == {"agree": 20, "abstain": 0, "disagree": 4, "block": 1}
    blocks = [p for p in shown.positions if p.stance == "block"]
    assert [b.reason for b in blocks] == ["The reserve already covers a year."]
    assert ops.outcome and "flagged for discussion" in ops.outcome
    still_open = session.scalars(select(Proposal).where(Proposal.id != ops.id)).one()
    assert results(session, still_open).is_open
