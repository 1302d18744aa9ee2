"""The member's inbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from market.auth import current_member, public
from market.errors import DomainError
from market.extensions import csrf
from market.notifications import preferences as choosing
from market.notifications import services
from market.notifications.forms import ButtonForm, PreferencesForm
from market.webdb import get_session

bp = Blueprint("notifications", __name__, url_prefix="/inbox")
unsubscribe_bp = Blueprint("unsubscribe", __name__, url_prefix="/unsubscribe")


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


@bp.route("/settings", methods=["GET", "POST"])
def settings() -> ResponseReturnValue:
    session = get_session()
    member = current_member()
    form = ButtonForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        choosing.save_choices(
            session,
            member,
            inbox=set(request.form.getlist("inbox")),
            email=set(request.form.getlist("email")),
            digest=request.form.get("digest") == "daily",
        )
        flash("What you receive is saved.", "success")
        return redirect(url_for("notifications.settings"))
    return render_template(
        "notifications/settings.html",
        form=form,
        choices=choosing.choices(session, member),
        digest=choosing.wants_digest(session, member),
    )


def _unsubscribe_request(token: str) -> choosing.Unsubscribe:
    secret = str(current_app.config["SECRET_KEY"])
    return choosing.read_token(secret, token)


@unsubscribe_bp.route("/<token>", methods=["GET"])
@public
def unsubscribe_page(token: str) -> ResponseReturnValue:
    # A GET only asks: mail scanners open links, and must not unsubscribe anyone.
    what = _unsubscribe_request(token)
    return render_template("notifications/unsubscribe.html", what=what, token=token, done=False)


@unsubscribe_bp.route("/<token>", methods=["POST"])
@public
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs with no session and no form token
def unsubscribe(token: str) -> ResponseReturnValue:
    what = _unsubscribe_request(token)
    choosing.unsubscribe(get_session(), what)
    return render_template("notifications/unsubscribe.html", what=what, token=token, done=True)


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
