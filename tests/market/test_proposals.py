"""Decisions through HTTP: start a proposal, take positions, results, outcome."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.members.models import Member
from market.notifications.models import Notification
from market.proposals.models import Position, PositionChange, Proposal
from tests.market.factories import close_now, make_member, make_proposal

Login = Callable[..., FlaskClient]


def _count(session: Session, model: type, *where: object) -> int:
    query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
    return session.scalar(query) or 0


def _closes(delta: timedelta) -> str:
    return (utcnow() + delta).strftime("%Y-%m-%dT%H:%M")


def test_member_starts_a_proposal(session: Session, login: Login) -> None:
    client = login(make_member(session))
    response = client.post(
        "/decisions/new",
        data={
            "title": "Raise the operations share to 12 %",
            "body": "We need **support** staff.\n\n- one\n- two",
            "closes_at": _closes(timedelta(days=3)),
            "results": "closed",
        },
    )
    assert response.status_code == 302
    proposal = session.scalar(select(Proposal))
    assert proposal is not None and not proposal.results_while_open
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>support</strong>" in page and "<li>one</li>" in page
    assert "only after the proposal closes" in page


def test_closing_time_in_the_past_or_too_soon_is_a_form_error(
    session: Session, login: Login
) -> None:
    client = login(make_member(session))
    for delta in (timedelta(hours=-2), timedelta(minutes=30)):
        data = {"title": "T", "body": "B", "closes_at": _closes(delta), "results": "open"}
        response = client.post("/decisions/new", data=data)
        assert response.status_code == 400
        assert "at least an hour from now" in response.get_data(as_text=True)
    assert _count(session, Proposal) == 0


def test_pending_member_cannot_start_a_proposal(session: Session, login: Login) -> None:
    client = login(make_member(session, status="pending"))
    data = {"title": "T", "body": "B", "closes_at": _closes(timedelta(days=1)), "results": "open"}
    response = client.post("/decisions/new", data=data)
    assert response.status_code == 400
    assert "good standing" in response.get_data(as_text=True)
    assert _count(session, Proposal) == 0


def test_position_can_change_and_every_change_is_kept(session: Session, login: Login) -> None:
    proposal = make_proposal(session)
    member = make_member(session)
    client = login(member)
    url = f"/decisions/{proposal.id}/position"
    assert client.post(url, data={"stance": "agree"}).status_code == 302
    assert client.post(url, data={"stance": "disagree", "reason": "Too soon"}).status_code == 302
    current = session.scalars(select(Position)).all()
    assert [(p.member_id, p.stance, p.reason) for p in current] == [
        (member.id, "disagree", "Too soon")
    ]
    history = session.scalars(select(PositionChange).order_by(PositionChange.id)).all()
    assert [h.stance for h in history] == ["agree", "disagree"]
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "Your changes (2)" in page


def test_block_without_reason_is_refused_with_the_explanation(
    session: Session, login: Login
) -> None:
    proposal = make_proposal(session)
    client = login(make_member(session))
    for reason in ("", "   \n "):
        response = client.post(
            f"/decisions/{proposal.id}/position", data={"stance": "block", "reason": reason}
        )
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert "A block needs a reason" in text and "leave the co-op" in text
    assert _count(session, Position) == 0 and _count(session, PositionChange) == 0


def test_voting_after_close_is_refused(session: Session, login: Login) -> None:
    proposal = make_proposal(session)
    close_now(session, proposal)
    response = login(make_member(session)).post(
        f"/decisions/{proposal.id}/position", data={"stance": "agree"}
    )
    assert response.status_code == 409
    assert "has closed" in response.get_data(as_text=True)
    assert _count(session, Position) == 0


def test_members_not_in_good_standing_cannot_vote(
    app: Flask, session: Session, login: Login
) -> None:
    proposal = make_proposal(session)
    lapsed_grace = make_member(session, status="past_due", grace_until=utcnow() - timedelta(days=1))
    for member in (make_member(session, status="pending"), lapsed_grace):
        response = login(member, app.test_client()).post(
            f"/decisions/{proposal.id}/position", data={"stance": "agree"}
        )
        assert response.status_code == 403
    assert _count(session, Position) == 0


def test_a_member_cannot_vote_for_someone_else(session: Session, login: Login) -> None:
    proposal = make_proposal(session)
    me, other = make_member(session), make_member(session)
    response = login(me).post(
        f"/decisions/{proposal.id}/position",
        data={"stance": "block", "reason": "mine", "member_id": str(other.id)},
    )
    assert response.status_code == 302
    assert session.scalars(select(Position.member_id)).all() == [me.id]


def test_script_in_body_and_reasons_is_inert(session: Session, login: Login) -> None:
    body = (
        "<script>alert('body')</script>\n\n[click](javascript:alert(1)) "
        '<img src=x onerror="alert(2)"> [fine](https://coop.example/x)'
    )
    proposal = make_proposal(session, body=body)
    client = login(make_member(session))
    client.post(
        f"/decisions/{proposal.id}/position",
        data={"stance": "block", "reason": "<script>alert('reason')</script>"},
    )
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;reason&#39;)" in page
    assert 'href="javascript' not in page and "<img" not in page
    assert '<a href="https://coop.example/x" rel="nofollow noopener">fine</a>' in page


def test_results_show_counts_reasons_non_voters_and_turnout(session: Session, login: Login) -> None:
    author = make_member(session, display_name="Ada Author")
    proposal = make_proposal(session, author)
    voters = [make_member(session, display_name=f"Voter {i}") for i in range(3)]
    make_member(session, status="pending", display_name="Pending Pat")
    client = login(voters[0])
    url = f"/decisions/{proposal.id}/position"
    client.post(url, data={"stance": "agree"})
    login(voters[1], client.application.test_client()).post(url, data={"stance": "agree"})
    login(voters[2], client.application.test_client()).post(
        url, data={"stance": "block", "reason": "The reserve already covers a year"}
    )
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "The reserve already covers a year" in page
    eligible = _count(session, Member, Member.status == "active")
    assert f"3 of {eligible}</strong>" in page
    assert "Ada Author" in page.split("Not yet voted")[1]
    assert "Pending Pat" not in page


def test_results_hidden_until_close_when_the_author_chose_so(
    session: Session, login: Login
) -> None:
    proposal = make_proposal(session, results_while_open=False)
    client = login(make_member(session))
    client.post(
        f"/decisions/{proposal.id}/position",
        data={"stance": "disagree", "reason": "Hidden reason one"},
    )
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "only after the proposal closes" in page and "Hidden reason one</td>" not in page
    history = client.get(f"/decisions/{proposal.id}/history").get_data(as_text=True)
    assert "Hidden reason one" not in history
    close_now(session, proposal)
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "Hidden reason one</td>" in page


def test_author_writes_outcome_after_close_and_members_are_notified(
    session: Session, login: Login
) -> None:
    author = make_member(session)
    proposal = make_proposal(session, author)
    client = login(make_member(session))
    client.post(f"/decisions/{proposal.id}/position", data={"stance": "block", "reason": "No"})
    url = f"/decisions/{proposal.id}/outcome"
    client = login(author, client.application.test_client())
    assert client.post(url, data={"statement": "Too early"}).status_code == 409
    close_now(session, proposal)
    other = login(make_member(session), client.application.test_client())
    assert other.post(url, data={"statement": "Mine"}).status_code == 403
    assert "flagged for discussion" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"statement": "Flagged: we meet on the 5th."})
    assert response.status_code == 302
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "Flagged: we meet on the 5th." in page and "Flagged for discussion" in page
    # A member's outcome reaches those who took part (and the author), not every member.
    assert _count(session, Notification, Notification.kind == "proposal.outcome") == 2
    assert client.post(url, data={"statement": "Again"}).status_code == 409


def test_admin_may_write_the_outcome_of_anyones_proposal(session: Session, login: Login) -> None:
    proposal = make_proposal(session)
    close_now(session, proposal)
    admin = login(make_member(session, admin=True))
    response = admin.post(f"/decisions/{proposal.id}/outcome", data={"statement": "Passed."})
    assert response.status_code == 302
    session.refresh(proposal)
    assert proposal.outcome == "Passed."


def test_list_shows_open_and_closed_with_the_block_flag(session: Session, login: Login) -> None:
    open_one = make_proposal(session, title="Admit Learn Things")
    closed = make_proposal(session, title="Ops share 12 %")
    login(make_member(session)).post(
        f"/decisions/{closed.id}/position", data={"stance": "block", "reason": "R"}
    )
    close_now(session, closed)
    page = login(make_member(session)).get("/decisions/").get_data(as_text=True)
    opened, closed_part = page.split("<h2>Closed</h2>")
    assert open_one.title in opened and closed.title in closed_part
    assert "flagged for discussion" in closed_part
