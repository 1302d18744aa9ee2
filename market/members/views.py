"""Member pages: sign up, log in/out, profile, password; the admin member list."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as web_session
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm

from market.auth import admin_blueprint, current_member, public
from market.errors import DomainError
from market.extensions import address, refused, throttle
from market.members import recovery, services, sessions, tokens
from market.members.forms import (
    LoginForm,
    MemberAdminForm,
    PasswordForm,
    ProfileForm,
    SignUpForm,
    TokenForm,
)
from market.members.models import Member
from market.webdb import get_session

bp = Blueprint("members", __name__)
admin_bp = admin_blueprint("admin_members", __name__, "/members")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths, so ?next= cannot send members elsewhere."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("index")


SIGNED_UP = (
    "Thank you. We have sent a message to that address: check your inbox, then log in below. "
    "If you already have an account, just log in with it."
)


@bp.route("/signup", methods=["GET", "POST"])
@public
@throttle("SIGNUP_RATE_LIMIT", "Too many sign-ups from here. Please try again later.")
def signup() -> ResponseReturnValue:
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            joined = services.join(
                get_session(),
                form.email.data or "",
                form.display_name.data or "",
                form.password.data or "",
            )
            if joined is not None:
                recovery.send_verification(
                    get_session(),
                    current_app,
                    current_app.secret_key,  # type: ignore[arg-type]
                    joined,
                    _link("members.verify_email"),
                )
        except DomainError as exc:
            form.email.errors.append(exc.message)  # type: ignore[attr-defined]
        else:
            # The same answer whether or not the address had an account (no enumeration).
            flash(SIGNED_UP, "success")
            return redirect(url_for("members.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("members/signup.html", form=form), status


def _account_key() -> str:
    """The account a login names (normalised as sign-up does), whatever address it comes from."""
    raw = str(request.form.get("email", ""))[:254]
    try:
        return "acct:" + services.normalise_email(raw)
    except DomainError:
        return "acct:" + raw.strip().lower()


TOO_MANY = "Too many failed login attempts. Please wait a few minutes and try again."


def start_session(member: Member, remember: bool = False) -> None:
    """Log a member in on a fresh session: new server-side row, new cookie, new CSRF token."""
    days = current_app.config["SESSION_DAYS"]
    login_id = sessions.open_session(get_session(), member.id, days=days)
    web_session.clear()  # nothing from before the login survives (a planted CSRF token...)
    g.pop("csrf_token", None)
    login_user(member, remember=remember)
    # flask-login stores get_id(); the cookies carry the session's token instead.
    web_session["_user_id"] = login_id


@bp.route("/login", methods=["GET", "POST"])
@public
@throttle("LOGIN_RATE_LIMIT", TOO_MANY, key_func=address, deduct_when=refused)
@throttle("LOGIN_ACCOUNT_RATE_LIMIT", TOO_MANY, key_func=_account_key, deduct_when=refused)
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        member = services.authenticate(
            get_session(), form.email.data or "", form.password.data or ""
        )
        if member is not None:
            start_session(member, remember=bool(form.remember.data))
            flash(f"Welcome back, {member.display_name}.", "success")
            return redirect(_safe_next(request.args.get("next")))
        form.form_errors.append("Email or password is not right.")
    status = 400 if request.method == "POST" else 200
    return render_template("members/login.html", form=form), status


def _end_here() -> None:
    web_session.clear()
    logout_user()  # after the clear: it notes the remember cookie must be cleared too


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    sessions.end_session(get_session(), web_session.get("_user_id"))
    _end_here()
    flash("You are logged out.", "info")
    return redirect(url_for("index"))


@bp.route("/profile/logout-everywhere", methods=["POST"])
def logout_everywhere() -> ResponseReturnValue:
    if not FlaskForm().validate_on_submit():
        return redirect(url_for("members.profile"))
    ended = sessions.end_sessions(get_session(), current_member().id)
    _end_here()
    flash(f"You are logged out everywhere ({ended} sessions ended).", "info")
    return redirect(url_for("members.login"))


@bp.route("/profile", methods=["GET", "POST"])
def profile() -> ResponseReturnValue:
    member = current_member()
    form = ProfileForm(obj=member)
    if form.validate_on_submit():
        try:
            services.update_profile(
                get_session(), member, member.email, form.display_name.data or ""
            )
            asked = recovery.request_email_change(
                get_session(),
                current_app,
                current_app.secret_key,  # type: ignore[arg-type]
                member,
                form.email.data or "",
                _link("members.confirm_email"),
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            note = (
                f" We sent a link to {asked}: your email changes when you open it."
                if asked != member.email
                else ""
            )
            flash("Profile saved." + note, "success")
            return redirect(url_for("members.profile"))
    status = 400 if request.method == "POST" else 200
    return _profile_page(form, status)


def _profile_page(
    form: ProfileForm | None = None,
    status: int = 200,
    token_form: TokenForm | None = None,
    new_token: str | None = None,
) -> ResponseReturnValue:
    member = current_member()
    session = get_session()
    if token_form is None:
        token_form = TokenForm(formdata=None)
    if not member.is_admin:
        token_form.scope.choices = [c for c in token_form.scope.choices if c.value != "admin"]  # type: ignore[union-attr]
    others = sessions.open_count(session, member.id) - 1
    return render_template(
        "members/profile.html",
        form=form or ProfileForm(formdata=None, obj=member),
        member=member,
        everywhere=FlaskForm(),
        verify=FlaskForm(),
        others=others,
        token_form=token_form,
        tokens=tokens.live_tokens(session, member),
        new_token=new_token,
        revoke_form=FlaskForm(),
    ), status


@bp.route("/profile/tokens", methods=["POST"])
def token_create() -> ResponseReturnValue:
    """Make a personal access token; the page shows it once (it is never shown again)."""
    form = TokenForm()
    if not current_member().is_admin:
        form.scope.choices = [c for c in form.scope.choices if c.value != "admin"]  # type: ignore[union-attr]
    if form.validate_on_submit():
        try:
            made = tokens.create(
                get_session(),
                current_member(),
                form.name.data or "",
                form.scope.data or "",
                int(form.days.data or 0),
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            # Shown once, in this response only: never in a cookie, a flash or a cache.
            response = make_response(_profile_page(new_token=made.secret))
            response.headers["Cache-Control"] = "no-store"
            return response
    return _profile_page(status=400, token_form=form)


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
def token_revoke(token_id: int) -> ResponseReturnValue:
    if not FlaskForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    try:
        name = tokens.revoke(get_session(), current_member(), token_id)
    except DomainError:
        abort(404)
    flash(f"Token {name!r} revoked: it no longer works.", "success")
    return redirect(url_for("members.profile"), 303)


def _link(endpoint: str) -> recovery.LinkFor:
    """Turns a token into the full link for an email (BASE_URL behind a balancer)."""
    base = str(current_app.config.get("BASE_URL") or "").rstrip("/")

    def link_for(token: str) -> str:
        path = url_for(endpoint, token=token)
        return base + path if base else url_for(endpoint, token=token, _external=True)

    return link_for


@bp.route("/profile/password", methods=["GET", "POST"])
@throttle("PASSWORD_RATE_LIMIT", "Too many password changes. Please wait and try again.")
def password() -> ResponseReturnValue:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                get_session(),
                current_member(),
                form.current.data or "",
                form.new.data or "",
                keep=web_session.get("_user_id"),
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash("Password changed. You are logged out on every other device.", "success")
            return redirect(url_for("members.profile"))
    status = 400 if request.method == "POST" else 200
    return render_template("members/password.html", form=form), status


@admin_bp.route("/")
def member_list() -> ResponseReturnValue:
    query = request.args.get("q", "")[:100]
    page = request.args.get("page", 1, type=int)
    result = services.search_members(get_session(), query, page)
    return render_template("members/admin_list.html", result=result, q=query)


@admin_bp.route("/<int:member_id>", methods=["GET", "POST"])
def member_edit(member_id: int) -> ResponseReturnValue:
    session = get_session()
    try:
        member = services.get_member_for_admin(session, current_member(), member_id)
    except DomainError as exc:
        abort(exc.status_code)
    form = MemberAdminForm(obj=member)
    if form.validate_on_submit():
        try:
            services.set_admin(session, current_member(), member, bool(form.is_admin.data))
            services.set_member_class(
                session, current_member(), member, form.member_class.data or ""
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash(f"Saved {member.display_name}.", "success")
            return redirect(url_for("admin_members.member_edit", member_id=member.id))
    status = 400 if request.method == "POST" else 200
    return render_template("members/admin_edit.html", form=form, member=member), status
