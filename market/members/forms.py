"""Member forms (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length

from market.members.services import MAX_PASSWORD, MIN_PASSWORD

PASSWORD_RULE = f"Passwords need at least {MIN_PASSWORD} and at most {MAX_PASSWORD} characters."


class SignUpForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired(),
            Length(max=254, message="Emails can have at most 254 characters."),
        ],
    )
    display_name = StringField(
        "Display name",
        validators=[
            DataRequired(),
            Length(max=80, message="Names can have at most 80 characters."),
        ],
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, max=MAX_PASSWORD, message=PASSWORD_RULE),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired(),
            Length(max=254, message="Emails can have at most 254 characters."),
        ],
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD)])
    remember = BooleanField("Keep me logged in")


class ProfileForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[
            DataRequired(),
            Length(max=254, message="Emails can have at most 254 characters."),
        ],
    )
    display_name = StringField(
        "Display name",
        validators=[
            DataRequired(),
            Length(max=80, message="Names can have at most 80 characters."),
        ],
    )


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=256)])
    new = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, max=MAX_PASSWORD, message=PASSWORD_RULE),
        ],
    )
    confirm = PasswordField(
        "Repeat new password", validators=[DataRequired(), EqualTo("new", "Passwords differ.")]
    )


class MemberAdminForm(FlaskForm):
    is_admin = BooleanField("Admin")
    member_class = SelectField(
        "Class", choices=[SelectChoice("consumer", "Consumer"), SelectChoice("worker", "Worker")]
    )


class TokenForm(FlaskForm):
    """A new personal access token for the API (its scope and lifetime)."""

    name = StringField(
        "Token name",
        validators=[
            DataRequired(message="Give the token a name."),
            Length(max=80, message="Names can have at most 80 characters."),
        ],
        description="What uses it, e.g. 'my budgeting script'.",
    )
    scope = SelectField(
        "Scope",
        choices=[
            SelectChoice("read", "read: see my things"),
            SelectChoice("member", "member: also claim, vote, release"),
            SelectChoice("admin", "admin: also the admin operations"),
        ],
        default="read",
    )
    days = SelectField(
        "Lasts",
        choices=[
            SelectChoice("7", "7 days"),
            SelectChoice("30", "30 days"),
            SelectChoice("90", "90 days"),
            SelectChoice("365", "a year"),
        ],
        default="30",
    )


class DeleteAccountForm(FlaskForm):
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=256)])
    understood = BooleanField(
        "I understand: my account, name, email and inbox are erased, my licences go back, "
        "and this cannot be undone.",
        validators=[DataRequired("Tick the box to confirm.")],
    )


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


class ResetForm(FlaskForm):
    new = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD, max=MAX_PASSWORD)],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new", message="The passwords do not match.")],
    )
