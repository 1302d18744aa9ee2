"""Anonymous polls: counted, never saying who took which position (or none), to anyone."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.members.models import Member
from market.notifications.models import Notification, OutboxMessage
from market.proposals.services import take_position, write_outcome
from tests.market.factories import close_now, make_member, make_proposal

Login = Callable[..., FlaskClient]


def _voters(session: Session) -> list[Member]:
    names = ["Zanele Agree", "Yusuf Disagree", "Xiomara Blocker"]
    return [make_member(session, display_name=n) for n in names]


def _everything_shown(client: FlaskClient, proposal_id: int) -> str:
    pages = [
        f"/decisions/{proposal_id}",
        f"/decisions/{proposal_id}/history",
        "/decisions/",
        "/inbox/",
    ]
    return "\n".join(client.get(p).get_data(as_text=True) for p in pages)


def test_nobody_sees_who_took_which_position_or_none(session: Session, login: Login) -> None:
    agree, disagree, blocker = _voters(session)
    silent = make_member(session, display_name="Wanda Silent")
    admin = make_member(session, admin=True, display_name="Ada Admin")
    proposal = make_proposal(session, author=admin, anonymous=True, title="Secret ballot")
    take_position(session, agree, proposal, "agree", "Sounds good to Zanele-reason")
    take_position(session, disagree, proposal, "disagree", None)
    take_position(session, blocker, proposal, "block", "Too costly")
    for viewer in (silent, admin, agree):
        shown = _everything_shown(login(viewer), proposal.id)
        for other in (agree, disagree, blocker, silent):
            if other.id != viewer.id:
                assert other.display_name not in shown, (viewer.display_name, other.display_name)
        assert "Zanele-reason" not in shown or viewer.id == agree.id
        assert "Anonymous poll" in shown
    close_now(session, proposal)
    write_outcome(session, admin, proposal, "Not adopted.")
    for viewer in (silent, admin):
        shown = _everything_shown(login(viewer), proposal.id)
        assert all(m.display_name not in shown for m in (agree, disagree, blocker))
        assert ">1</td>" in shown  # one agree, one disagree, one block are counted
    mail = "\n".join(m.body + m.subject for m in session.scalars(select(OutboxMessage)))
    inbox = "\n".join(n.body + n.subject for n in session.scalars(select(Notification)))
    for member in (agree, disagree, blocker):
        assert member.display_name not in mail.replace(f"Hello {member.display_name},", "")
        assert member.display_name not in inbox


def test_a_member_sees_and_changes_their_own_position(session: Session, login: Login) -> None:
    agree, _, _ = _voters(session)
    proposal = make_proposal(session, anonymous=True)
    take_position(session, agree, proposal, "agree", None)
    client = login(agree)
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "You chose" in page and "stance-agree" in page
    changed = client.post(
        f"/decisions/{proposal.id}/position", data={"stance": "disagree", "reason": ""}
    )
    assert changed.status_code == 302
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert 'You chose <span class="stance stance-disagree">' in page


def test_an_open_poll_still_names_who_voted(session: Session, login: Login) -> None:
    agree, _, _ = _voters(session)
    viewer = make_member(session)
    proposal = make_proposal(session)  # not anonymous: as before, names are shown
    take_position(session, agree, proposal, "agree", None)
    assert agree.display_name in login(viewer).get(f"/decisions/{proposal.id}").get_data(
        as_text=True
    )


def test_the_new_proposal_form_offers_an_anonymous_poll(session: Session, login: Login) -> None:
    from datetime import timedelta

    from market.db import utcnow
    from market.proposals.models import Proposal

    client = login(make_member(session))
    assert "Anonymous poll" in client.get("/decisions/new").get_data(as_text=True)
    closes = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/decisions/new",
        data={"title": "Quiet", "body": "Body", "closes_at": closes, "results": "open",
              "anonymous": "y"},
    )  # fmt: skip
    assert response.status_code == 302
    made = session.scalars(select(Proposal).where(Proposal.title == "Quiet")).one()
    assert made.anonymous
