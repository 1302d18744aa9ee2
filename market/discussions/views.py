"""Comment routes: post or reply, edit, delete; each redirects back to the subject's page."""

from __future__ import annotations

from typing import NoReturn

from flask import Blueprint, current_app, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from market.auth import current_member
from market.db import utcnow
from market.discussions import services
from market.discussions.forms import CommentForm, DeleteForm, EditForm
from market.discussions.models import Comment
from market.errors import DomainError
from market.members.models import Member
from market.plugins import notifier
from market.webdb import get_session

bp = Blueprint("discussions", __name__, url_prefix="/discussions")


class _Refused(DomainError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status_code = status


def _refuse(message: str, status: int = 400) -> NoReturn:
    # The error page, with the status: the request's transaction is rolled back (>= 400).
    raise _Refused(message, status)


def _form_error(form: CommentForm | EditForm) -> str:
    errors = [e for field in form for e in field.errors] + list(form.form_errors)
    return " ".join(str(e) for e in errors) or "The form expired; reload the page and try again."


@bp.route("/<kind>/<int:subject_id>/comments", methods=["POST"])
def post(kind: str, subject_id: int) -> ResponseReturnValue:
    session = get_session()
    subject = services.get_subject(session, kind, subject_id)
    form = CommentForm()
    if not form.validate_on_submit():
        _refuse(_form_error(form))
    parent_id = int(form.parent_id.data) if form.parent_id.data else None
    member = current_member()
    comment = services.post_comment(session, member, subject, form.body.data, parent_id)
    if parent_id is not None:
        _tell_parent_author(session, member, parent_id, subject)
    flash("Your comment is posted.", "success")
    return redirect(f"{subject.link}#comment-{comment.id}")


def _tell_parent_author(
    session: Session, member: Member, parent_id: int, subject: services.Subject
) -> None:
    parent = services.get_comment(session, parent_id)
    if parent.author_id == member.id:
        return
    author = session.get(Member, parent.author_id)
    if author is None:
        return
    # The co-op's words only: what members wrote stays on the site.
    notifier(current_app)(
        session,
        author,
        "discussion.reply",
        "Someone replied to your comment",
        "A member replied to a comment you wrote. Read the reply on the site.",
        f"{subject.link}#comment-{parent.id}",
    )


def _own(comment_id: int) -> tuple[Comment, services.Subject]:
    session = get_session()
    comment = services.get_comment(session, comment_id)
    subject = services.get_subject(session, comment.subject_kind, comment.subject_id)
    if not services.can_take_part(current_member(), utcnow()):
        _refuse("Only members in good standing can take part in discussions.", 403)
    return comment, subject


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit(comment_id: int) -> ResponseReturnValue:
    comment, subject = _own(comment_id)
    window = services.edit_window(current_app.config)
    member = current_member()
    form = EditForm(data={"body": comment.body} if request.method == "GET" else None)
    if request.method == "POST":
        if not form.validate_on_submit():
            _refuse(_form_error(form))
        services.edit_comment(get_session(), member, comment, form.body.data, window)
        flash("Your comment is changed.", "success")
        return redirect(f"{subject.link}#comment-{comment.id}")
    if not services.can_edit(member, comment, window, utcnow()):
        _refuse(
            "You can edit only your own comments, within "
            f"{int(window.total_seconds() // 60)} minutes of posting.",
            403 if comment.author_id != member.id else 409,
        )
    return render_template("discussions/edit.html", form=form, subject=subject, comment=comment)


@bp.route("/comments/<int:comment_id>/delete", methods=["POST"])
def delete(comment_id: int) -> ResponseReturnValue:
    comment, subject = _own(comment_id)
    if not DeleteForm().validate_on_submit():
        _refuse("The form expired; reload the page and try again.")
    services.delete_comment(get_session(), current_member(), comment)
    flash("The comment is deleted.", "success")
    return redirect(f"{subject.link}#comment-{comment.id}")


def thread_context(kind: str, subject_id: int) -> dict[str, object]:
    """What `discussions/thread.html` needs, for any page that shows a subject's thread."""
    session = get_session()
    subject = services.get_subject(session, kind, subject_id)
    window = services.edit_window(current_app.config)
    return {
        "thread": services.thread(session, current_member(), subject, window),
        "comment_form": CommentForm(),
        "delete_form": DeleteForm(),
    }
