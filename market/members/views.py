"""Member pages: sign up, log in/out, profile, password; the admin member list."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user

from market.auth import admin_blueprint, current_member, public
from market.errors import DomainError
from market.extensions import limiter
from market.members import services
from market.members.forms import LoginForm, MemberAdminForm, PasswordForm, ProfileForm, SignUpForm
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


@bp.route("/signup", methods=["GET", "POST"])
@public
def signup() -> ResponseReturnValue:
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            member = services.sign_up(
                get_session(),
                form.email.data or "",
                form.display_name.data or "",
                form.password.data or "",
            )
        except DomainError as exc:
            form.email.errors.append(exc.message)  # type: ignore[attr-defined]
        else:
            login_user(member)
            flash("Welcome to the co-op! One step left: set up your dues.", "success")
            return redirect(url_for("index"))
    status = 400 if request.method == "POST" else 200
    return render_template("members/signup.html", form=form), status


def _login_key() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    key_func=_login_key,
    error_message="Too many login attempts. Please wait a minute and try again.",
)
def login() -> ResponseReturnValue:
    form = LoginForm()
    if form.validate_on_submit():
        member = services.authenticate(
            get_session(), form.email.data or "", form.password.data or ""
        )
        if member is not None:
            login_user(member, remember=bool(form.remember.data))
            flash(f"Welcome back, {member.display_name}.", "success")
            return redirect(_safe_next(request.args.get("next")))
        form.form_errors.append("Email or password is not right.")
    status = 400 if request.method == "POST" else 200
    return render_template("members/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("index"))


@bp.route("/profile", methods=["GET", "POST"])
def profile() -> ResponseReturnValue:
    member = current_member()
    form = ProfileForm(obj=member)
    if form.validate_on_submit():
        try:
            services.update_profile(
                get_session(), member, form.email.data or "", form.display_name.data or ""
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash("Profile saved.", "success")
            return redirect(url_for("members.profile"))
    status = 400 if request.method == "POST" else 200
    return render_template("members/profile.html", form=form, member=member), status


@bp.route("/profile/password", methods=["GET", "POST"])
def password() -> ResponseReturnValue:
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                get_session(), current_member(), form.current.data or "", form.new.data or ""
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            flash("Password changed.", "success")
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
