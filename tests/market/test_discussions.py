"""Discussion threads on proposals: post, reply, edit in the window, delete; bad input refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from market.db import utcnow
from market.discussions import services
from market.discussions.models import Comment
from market.members.models import Member, MemberStatus
from market.notifications.models import Notification
from market.proposals.models import Position
from tests.market.factories import close_now, make_member, make_proposal

Login = Callable[..., FlaskClient]


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Comment)) or 0


def _post(
    client: FlaskClient, proposal_id: int, body: str, parent: int | None = None
) -> TestResponse:
    data = {"body": body} | ({"parent_id": str(parent)} if parent else {})
    return client.post(f"/discussions/proposal/{proposal_id}/comments", data=data)


def _subject(session: Session, proposal_id: int) -> services.Subject:
    return services.get_subject(session, "proposal", proposal_id)


def test_a_thread_with_markdown_replies_and_a_reply_notice(session: Session, login: Login) -> None:
    nia, omar = make_member(session, display_name="Nia"), make_member(session, display_name="Omar")
    proposal = make_proposal(session)
    client = login(nia)
    response = _post(client, proposal.id, "I **support** this. [Why](https://coop.example/why)")
    assert response.status_code == 302 and "#comment-" in response.headers["Location"]
    first = session.scalars(select(Comment)).one()
    reply = _post(login(omar, client.application.test_client()), proposal.id, "Me too.", first.id)
    assert reply.status_code == 302
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "<strong>support</strong>" in page and "Me too." in page and "Omar" in page
    assert 'rel="nofollow noopener"' in page
    assert page.index("I <strong>support") < page.index("Me too.")
    assert 'class="card comment depth-1' in page  # the reply sits under its parent
    told = session.scalars(select(Notification).where(Notification.member_id == nia.id)).all()
    assert [n.kind for n in told if n.kind == "discussion.reply"] == ["discussion.reply"]
    assert "Me too" not in told[-1].body  # the notice does not quote member text


def test_bad_comments_are_refused_and_nothing_is_written(session: Session, login: Login) -> None:
    nia = make_member(session)
    proposal, other = make_proposal(session), make_proposal(session)
    elsewhere = services.post_comment(session, nia, _subject(session, other.id), "Elsewhere")
    before = _count(session)
    client = login(nia)
    huge = _post(client, proposal.id, "x" * (1024 * 1024))
    assert huge.status_code == 400 and "at most 10,000 characters" in huge.get_data(as_text=True)
    script = _post(client, proposal.id, "hi <script>alert(1)</script>")
    assert script.status_code == 400 and "scripts" in script.get_data(as_text=True)
    handler = _post(client, proposal.id, '<img src=x onerror="alert(1)">')
    assert handler.status_code == 400
    link = _post(client, proposal.id, "[click](javascript:alert(1))")
    assert link.status_code == 400
    blank = _post(client, proposal.id, "   ")
    assert blank.status_code == 400
    cross = _post(client, proposal.id, "A reply across threads", elsewhere.id)
    assert cross.status_code == 400
    assert "only reply to a comment of this discussion" in cross.get_data(as_text=True)
    assert (
        client.post("/discussions/proposal/999999/comments", data={"body": "x"}).status_code == 404
    )
    assert client.post("/discussions/nothing/1/comments", data={"body": "x"}).status_code == 404
    assert _count(session) == before


def test_edit_within_the_window_only_and_only_ones_own(session: Session, login: Login) -> None:
    nia, omar = make_member(session), make_member(session)
    proposal = make_proposal(session)
    subject = _subject(session, proposal.id)
    fresh = services.post_comment(session, nia, subject, "Fresh")
    old = services.post_comment(session, nia, subject, "Old", now=utcnow() - timedelta(minutes=16))
    client = login(nia)
    edited = client.post(f"/discussions/comments/{fresh.id}/edit", data={"body": "Fresher"})
    assert edited.status_code == 302
    session.refresh(fresh)
    assert fresh.body == "Fresher" and fresh.edited_at is not None
    late = client.post(f"/discussions/comments/{old.id}/edit", data={"body": "Changed"})
    assert late.status_code == 409 and "15 minutes" in late.get_data(as_text=True)
    assert client.get(f"/discussions/comments/{old.id}/edit").status_code == 409
    other = login(omar, client.application.test_client())
    theirs = other.post(f"/discussions/comments/{fresh.id}/edit", data={"body": "Mine now"})
    assert theirs.status_code == 403
    session.refresh(old)
    session.refresh(fresh)
    assert old.body == "Old" and fresh.body == "Fresher"
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "edited" in page


def test_the_edit_window_is_a_setting(make_app: Callable[..., Flask]) -> None:
    app = make_app(COMMENT_EDIT_MINUTES=60)
    assert services.edit_window(app.config) == timedelta(minutes=60)


def test_delete_by_author_or_admin_leaves_deleted_in_place(session: Session, login: Login) -> None:
    nia, omar = make_member(session), make_member(session)
    admin = make_member(session, admin=True)
    proposal = make_proposal(session)
    subject = _subject(session, proposal.id)
    first = services.post_comment(session, nia, subject, "First words")
    services.post_comment(session, omar, subject, "A reply that stays", first.id)
    second = services.post_comment(session, omar, subject, "Rude words")
    client = login(omar)
    assert client.post(f"/discussions/comments/{first.id}/delete").status_code == 403
    assert (
        login(nia, client.application.test_client())
        .post(f"/discussions/comments/{first.id}/delete")
        .status_code
        == 302
    )
    by_admin = login(admin, client.application.test_client())
    assert by_admin.post(f"/discussions/comments/{second.id}/delete").status_code == 302
    assert by_admin.post(f"/discussions/comments/{second.id}/delete").status_code == 409
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "First words" not in page and "Rude words" not in page
    assert "[deleted]" in page and "[deleted by an admin]" in page
    assert "A reply that stays" in page
    assert _post(client, proposal.id, "Reply to the deleted", first.id).status_code == 409


def test_decisions_list_shows_activity_and_flagged_leads_to_the_thread(
    session: Session, login: Login
) -> None:
    nia, blocker = make_member(session), make_member(session)
    talked, quiet = make_proposal(session, title="Talked about"), make_proposal(session)
    subject = _subject(session, talked.id)
    services.post_comment(session, nia, subject, "One")
    services.post_comment(session, nia, subject, "Two")
    from market.proposals.services import take_position

    take_position(session, blocker, talked, "block", "I would leave.")
    close_now(session, talked)
    page = login(nia).get("/decisions/").get_data(as_text=True)
    assert f'href="/decisions/{talked.id}#discussion">2 comments</a>' in page
    assert "latest" in page
    assert f'/decisions/{talked.id}#discussion">flagged for discussion</a>' in page
    assert f'/decisions/{quiet.id}#discussion"' not in page
    detail = login(nia).get(f"/decisions/{talked.id}").get_data(as_text=True)
    assert 'href="#discussion">Join the discussion' in detail and 'id="discussion"' in detail
    assert session.scalar(select(func.count()).select_from(Position)) == 1


def test_members_not_in_good_standing_neither_read_nor_write(
    session: Session, login: Login
) -> None:
    nia = make_member(session)
    lapsed: Member = make_member(session, status=MemberStatus.LAPSED)
    proposal = make_proposal(session)
    services.post_comment(session, nia, _subject(session, proposal.id), "Members only words")
    client = login(lapsed)
    page = client.get(f"/decisions/{proposal.id}").get_data(as_text=True)
    assert "Members only words" not in page and "Discussion (1)" in page
    assert _post(client, proposal.id, "Let me in").status_code == 403
    assert _count(session) == 1
