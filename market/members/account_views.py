"""Account pages reached by email or about leaving: confirm an address, reset a password,
download my data, delete my account (routes on the members blueprint)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask import session as web_session
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm

from market.auth import current_member, public
from market.clock import utcnow
from market.errors import DomainError
from market.extensions import address, throttle
from market.members import account, recovery
from market.members.forms import DeleteAccountForm, ForgotForm, ResetForm
from market.members.views import _end_here, _link, bp
from market.webdb import get_session


@bp.route("/profile/verify", methods=["POST"])
@throttle("PASSWORD_RATE_LIMIT", "Too many emails asked for. Please wait and try again.")
def send_verification() -> ResponseReturnValue:
    member = current_member()
    if FlaskForm().validate_on_submit() and member.email_verified_at is None:
        recovery.send_verification(
            get_session(),
            current_app,
            current_app.secret_key,  # type: ignore[arg-type]
            member,
            _link("members.verify_email"),
        )
        flash(f"We sent a link to {member.email}. Open it to confirm the address.", "info")
    return redirect(url_for("members.profile"))


@bp.route("/email/verify/<token>")
@public
def verify_email(token: str) -> ResponseReturnValue:
    secret = current_app.secret_key
    member = recovery.verify_email(get_session(), secret, token, utcnow())  # type: ignore[arg-type]
    flash(f"Thank you: {member.email} is confirmed.", "success")
    return redirect(url_for("index"))


@bp.route("/email/confirm/<token>")
@public
def confirm_email(token: str) -> ResponseReturnValue:
    secret = current_app.secret_key
    keep = web_session.get("_user_id")
    member = recovery.confirm_email_change(get_session(), secret, token, utcnow(), keep)  # type: ignore[arg-type]
    flash(f"Your account now uses {member.email}. Other devices were logged out.", "success")
    return redirect(url_for("index"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@throttle(
    "PASSWORD_RATE_LIMIT",
    "Too many reset requests. Please wait and try again.",
    key_func=address,
)
def forgot_password() -> ResponseReturnValue:
    form = ForgotForm()
    if form.validate_on_submit():
        recovery.request_reset(
            get_session(),
            current_app,
            current_app.secret_key,  # type: ignore[arg-type]
            form.email.data or "",
            _link("members.reset_password"),
            utcnow(),
        )
        # The same answer whether or not the address has an account.
        flash(
            "If an account uses that address, we have emailed it a link to choose a new "
            "password. The link works once, within the hour.",
            "info",
        )
        return redirect(url_for("members.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("members/forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@throttle("PASSWORD_RATE_LIMIT", "Too many attempts. Please wait and try again.", key_func=address)
def reset_password(token: str) -> ResponseReturnValue:
    secret: str = current_app.secret_key  # type: ignore[assignment]
    recovery.check_reset(get_session(), secret, token, utcnow())  # a spent link: 400 at once
    form = ResetForm()
    if form.validate_on_submit():
        try:
            recovery.reset_password(get_session(), secret, token, form.new.data or "", utcnow())
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            _end_here()
            flash(
                "Your password is changed. Log in with it; other devices were logged out.",
                "success",
            )
            return redirect(url_for("members.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("members/reset.html", form=form), status


@bp.route("/profile/data.json")
def my_data() -> ResponseReturnValue:
    """Everything the co-op holds about the member, from every package, as one JSON file."""
    from market import personal

    member = current_member()
    now = utcnow()
    body = {
        "exported_at": now.isoformat(),
        **personal.collect(current_app, get_session(), member.id),
    }
    name = f"softcoop-my-data-{now:%Y%m%d}.json"
    return (
        current_app.json.response(body),
        200,
        {
            "Content-Disposition": f"attachment; filename={name}",
            "Cache-Control": "no-store",
        },
    )


@bp.route("/profile/delete", methods=["GET", "POST"])
@throttle("PASSWORD_RATE_LIMIT", "Too many attempts. Please wait and try again.")
def delete_account() -> ResponseReturnValue:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            account.delete_account(
                get_session(),
                current_app,
                current_member(),
                form.password.data or "",
                utcnow(),
            )
        except DomainError as exc:
            form.form_errors.append(exc.message)
        else:
            _end_here()
            flash("Your account is deleted. Thank you for having been part of the co-op.", "info")
            return redirect(url_for("index"))
    status = 400 if request.method == "POST" else 200
    return render_template("members/delete.html", form=form), status
