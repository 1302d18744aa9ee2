"""The member's inbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from market.auth import current_member
from market.errors import DomainError
from market.notifications import services
from market.notifications.forms import ButtonForm, PreferencesForm
from market.webdb import get_session

bp = Blueprint("notifications", __name__, url_prefix="/inbox")


@bp.route("/")
def inbox() -> ResponseReturnValue:
    member = current_member()
    notes = services.inbox(get_session(), member)
    prefs = PreferencesForm(email_member_text=member.email_member_text)
    return render_template("notifications/inbox.html", notes=notes, form=ButtonForm(), prefs=prefs)


@bp.route("/preferences", methods=["POST"])
def preferences() -> ResponseReturnValue:
    form = PreferencesForm()
    if not form.validate_on_submit():
        abort(400)
    services.set_email_member_text(
        get_session(), current_member(), bool(form.email_member_text.data)
    )
    flash("Email preferences saved.", "success")
    return redirect(url_for("notifications.inbox"))


def _same_site(link: str | None) -> str:
    # Links are written by our own services, but never follow one off-site.
    if link and link.startswith("/") and not link.startswith("//") and not urlsplit(link).netloc:
        return link
    return url_for("notifications.inbox")


@bp.route("/<int:note_id>/open", methods=["POST"])
def open_note(note_id: int) -> ResponseReturnValue:
    if not ButtonForm().validate_on_submit():
        abort(400)
    session = get_session()
    try:
        note = services.get_notification_for_member(session, current_member(), note_id)
    except DomainError as exc:
        abort(exc.status_code)
    services.mark_read(session, note)
    return redirect(_same_site(note.link))


@bp.route("/read-all", methods=["POST"])
def read_all() -> ResponseReturnValue:
    if not ButtonForm().validate_on_submit():
        abort(400)
    count = services.mark_all_read(get_session(), current_member())
    flash(f"Marked {count} notification{'s' if count != 1 else ''} read.", "success")
    return redirect(url_for("notifications.inbox"))


def inbox_badge() -> dict[str, Any]:
    """The logged-in member's unread count, for the Inbox link in the header."""
    if not current_user.is_authenticated:
        return {"inbox_unread": 0}
    try:
        return {"inbox_unread": services.unread_count(get_session(), current_member())}
    except SQLAlchemyError:
        # An error page after a failed flush: the transaction is unusable; skip the badge.
        return {"inbox_unread": 0}
