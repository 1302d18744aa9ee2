"""Members' words reach other members' mailboxes only where they chose it, never in bulk
without an admin, and links in them are never clickable in emails."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from market.members.models import Member
from market.notifications.models import Notification, OutboxMessage
from market.notifications.services import defang
from market.proposals import services
from market.proposals.models import Proposal
from tests.market.factories import close_now, make_member, make_proposal

Login = Callable[..., FlaskClient]
PHISH = "Urgent: confirm your dues at https://coop-billing.example/login or mail pay@evil.example"
TITLE = "Visit www.evil.example today"


def _outbox(session: Session) -> dict[str, OutboxMessage]:
    return {m.to_email: m for m in session.scalars(select(OutboxMessage))}


def _closed_proposal(session: Session, author: Member, voters: list[Member]) -> Proposal:
    proposal = make_proposal(session, author, title=TITLE)
    for voter in voters:
        services.take_position(session, voter, proposal, "agree", None)
    close_now(session, proposal)
    return proposal


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("go to https://evil.example/x now", "https://evil.example"),
        ("see www.evil.example", "www.evil.example"),
        ("bare evil.example/login works", "evil.example"),
        ("mail pay@evil.example", "pay@evil.example"),
        ("javascript:alert(1)", "javascript:alert"),
    ],
)
def test_defang_leaves_nothing_a_mail_client_would_link(text: str, hidden: str) -> None:
    assert hidden not in defang(text)


def test_a_members_outcome_is_not_emailed_to_every_member(
    client: FlaskClient, session: Session, login: Login
) -> None:
    author = make_member(session)
    voters = [make_member(session) for _ in range(3)]
    bystanders = [make_member(session, email_member_text=True) for _ in range(20)]
    proposal = _closed_proposal(session, author, voters)
    session.execute(delete(OutboxMessage))
    response = login(author).post(f"/decisions/{proposal.id}/outcome", data={"statement": PHISH})
    assert response.status_code == 302
    mail = _outbox(session)
    assert set(mail) == {m.email for m in [author, *voters]}  # not the 20 bystanders
    for member in voters:
        message = mail[member.email]
        assert "coop-billing" not in message.body and "evil" not in message.subject
        assert f"/decisions/{proposal.id}" in message.body
    # On the site the members who took part read it as text.
    notes = session.scalars(select(Notification).where(Notification.member_id == voters[0].id))
    assert any(PHISH in n.body for n in notes)
    assert not any(b.id == n.member_id for b in bystanders for n in notes)


def test_members_who_chose_it_get_the_words_with_links_defanged(
    client: FlaskClient, session: Session, login: Login
) -> None:
    admin = make_member(session, admin=True)
    opted_in = make_member(session)
    login(opted_in).post("/inbox/preferences", data={"email_member_text": "y"})
    session.refresh(opted_in)
    assert opted_in.email_member_text
    others = [make_member(session) for _ in range(3)]
    proposal = _closed_proposal(session, make_member(session), [opted_in, *others])
    session.execute(delete(OutboxMessage))
    admin_client = login(admin, client.application.test_client())
    admin_client.post(f"/decisions/{proposal.id}/outcome", data={"statement": PHISH})
    mail = _outbox(session)
    assert len(mail) >= 6  # an admin's outcome goes to every member in good standing
    quoted = mail[opted_in.email].body
    assert "coop-billing[.]example" in quoted and "https://" not in quoted
    assert "pay[at]evil[.]example" in quoted
    assert "www.evil.example" not in mail[opted_in.email].subject
    for member in others:
        assert "coop-billing" not in mail[member.email].body


def test_closing_notices_do_not_carry_a_members_title_to_many(session: Session) -> None:
    author = make_member(session)
    voters = [make_member(session, email_member_text=True) for _ in range(3)]
    _closed_proposal(session, author, voters)
    session.execute(delete(OutboxMessage))
    services.close_due(session)
    mail = _outbox(session)
    for member in voters:
        assert "evil" not in mail[member.email].subject + mail[member.email].body
    # The author gets their own title back.
    assert "www[.]evil[.]example" in mail[author.email].subject
