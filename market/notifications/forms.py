"""Inbox forms (CSRF only: the buttons carry no data)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField


class ButtonForm(FlaskForm):
    """A POST button with its CSRF token."""


class PreferencesForm(FlaskForm):
    """What the member's emails may carry."""

    email_member_text = BooleanField(
        "Quote what members wrote (proposal titles, outcomes) in my emails",
        description="Off: emails say what happened and link to the site, where you read it. "
        "Links in members' words are never clickable in emails.",
    )
