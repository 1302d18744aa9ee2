"""The demo's deals chapter tells STORY.md steps 4-5 up to the group buy near its threshold."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market import demo
from market.deals.groupbuy import committed_count
from market.deals.models import Deal


def test_demo_deals(app: Flask, session: Session) -> None:
    with app.app_context():  # as under `flask demo load`
        demo.load(app)
    deals = {d.title: d for d in session.scalars(select(Deal))}
    budget = deals["Penny Budget group buy"]
    assert budget.status == "accepted" and budget.min_members == 50
    assert committed_count(session, budget) == 47
    statuses = sorted(d.status for d in deals.values() if d.ballot_id is None)
    assert statuses == ["accepted", "active", "offered", "rejected"]
    # And three accepted deals the members choose among on the demo's deal ballot.
    on_ballot = [d.status for d in deals.values() if d.ballot_id is not None]
    assert on_ballot == ["accepted"] * 3
