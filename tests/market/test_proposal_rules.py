"""Proposal rules below the pages: ratification, one current position, closing, races."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from market import create_app
from market.db import utcnow
from market.errors import Conflict, DomainError, Forbidden
from market.notifications.models import Notification, OutboxMessage
from market.proposals.models import Position, PositionChange, Proposal
from market.proposals.results import ratification_passed
from market.proposals.services import close_due, take_position
from market.webdb import database
from tests.market.factories import close_now, make_member, make_proposal
from tests.support import app_config


def _ratify(session: Session, deal_id: int, stances: list[str]) -> Proposal:
    admin = make_member(session, admin=True)
    proposal = make_proposal(session, admin, subject_kind="deal", subject_id=deal_id)
    for stance in stances:
        take_position(session, make_member(session), proposal, stance, "why")
    return proposal


def test_ratification_needs_a_closed_proposal_with_more_agree_and_no_block(
    session: Session,
) -> None:
    assert ratification_passed(session, "deal", 1) == (
        False,
        "No proposal to ratify this has been put to the members yet.",
    )
    open_one = _ratify(session, 1, ["agree", "agree"])
    passed, why = ratification_passed(session, "deal", 1)
    assert not passed and "still open" in why
    close_now(session, open_one)
    assert ratification_passed(session, "deal", 1) == (
        True,
        "Ratified: 2 agree, 0 disagree, no block.",
    )

    close_now(session, _ratify(session, 2, ["agree", "disagree", "abstain"]))
    passed, why = ratification_passed(session, "deal", 2)
    assert not passed and "1 agree and 1 disagree" in why

    close_now(session, _ratify(session, 3, ["agree", "agree", "agree", "block"]))
    passed, why = ratification_passed(session, "deal", 3)
    assert not passed and "1 standing block" in why
    # Other kinds of subject with the same id are not confused with deals.
    assert not ratification_passed(session, "channel", 1)[0]


def test_only_admins_attach_a_proposal_to_a_deal(session: Session) -> None:
    with pytest.raises(Forbidden):
        make_proposal(session, make_member(session), subject_kind="deal", subject_id=9)
    with pytest.raises(DomainError):
        make_proposal(session, make_member(session, admin=True), subject_kind="deal")


def test_database_keeps_one_current_position_per_member(session: Session) -> None:
    proposal = make_proposal(session)
    member = make_member(session)
    take_position(session, member, proposal, "agree", None)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(Position(proposal_id=proposal.id, member_id=member.id, stance="agree"))
        session.flush()


def test_database_refuses_an_unexplained_block(session: Session) -> None:
    proposal = make_proposal(session)
    member = make_member(session)
    for reason in (None, "  "):
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(
                Position(
                    proposal_id=proposal.id, member_id=member.id, stance="block", reason=reason
                )
            )
            session.flush()


def test_the_closing_time_is_read_at_the_write_not_from_the_object(session: Session) -> None:
    proposal = make_proposal(session)
    # Another transaction moved the close into the past; our loaded object still says open.
    session.execute(
        Proposal.__table__.update()  # type: ignore[attr-defined]
        .where(Proposal.id == proposal.id)
        .values(closes_at=utcnow() - timedelta(minutes=1))
    )
    assert proposal.is_open(utcnow())
    with pytest.raises(Conflict):
        take_position(session, make_member(session), proposal, "agree", None)


def test_close_notifies_once(app: Flask, session: Session) -> None:
    author = make_member(session)
    proposal = make_proposal(session, author)
    voter = make_member(session)
    take_position(session, voter, proposal, "agree", None)
    make_proposal(session)  # still open: not closed by the job
    close_now(session, proposal)
    assert [p.id for p in close_due(session)] == [proposal.id]
    assert close_due(session) == []
    closing = Notification.kind == "proposal.closed"  # (not the new-proposal notices)
    query = select(Notification).where(closing).order_by(Notification.member_id)
    notes = session.scalars(query).all()
    assert [(n.member_id, n.kind) for n in notes] == [
        (author.id, "proposal.closed"),
        (voter.id, "proposal.closed"),
    ]
    assert "write its outcome" in notes[0].body
    mails = select(func.count()).where(OutboxMessage.kind == "proposal.closed")
    assert session.scalar(mails) == 2


def test_close_command(app: Flask, session: Session) -> None:
    proposal = make_proposal(session, title="Close me")
    close_now(session, proposal)
    session.commit()  # a savepoint in the test's transaction, visible to the command
    runner = app.test_cli_runner()
    first = runner.invoke(args=["proposals", "close"])
    assert first.exit_code == 0, first.output
    assert "closed: Close me" in first.output and "1 newly closed" in first.output
    assert "0 newly closed" in runner.invoke(args=["proposals", "close"]).output


def test_two_tabs_at_once_leave_one_current_position(live_database: str) -> None:
    """Threads against a real database: each keeps its history row, one current row."""
    app = create_app(app_config(DATABASE_URL=live_database))
    db = database(app)
    with db.transaction() as s:
        proposal_id = make_proposal(s).id
        member_id = make_member(s).id
    tabs = 6
    barrier = threading.Barrier(tabs)
    errors: list[BaseException] = []

    def tab(stance: str) -> None:
        try:
            barrier.wait()
            with db.transaction() as s:
                from market.members.models import Member

                member: Any = s.get(Member, member_id)
                proposal: Any = s.get(Proposal, proposal_id)
                take_position(s, member, proposal, stance, "tab")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=tab, args=(["agree", "disagree"][i % 2],)) for i in range(tabs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Position)) == 1
        assert s.scalar(select(func.count()).select_from(PositionChange)) == tabs
    db.engine.dispose()
