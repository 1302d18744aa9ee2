"""Forms of the deal ballot pages (CSRF from Flask-WTF; the deals' checkboxes read by name)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class BallotForm(FlaskForm):
    """Open a deal ballot over a channel's accepted deals."""

    title = StringField("Title", validators=[DataRequired(), Length(min=3, max=200)])
    channel_id = SelectField("Channel that pays", coerce=int)
    budget = StringField(
        "Budget (empty: the channel's whole available balance)", validators=[Optional()]
    )
    closes_at = DateTimeLocalField(
        "Closes at (UTC)", format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )


class ApproveForm(FlaskForm):
    """A member's approvals (the checkboxes `deal` are read from the request)."""


class CloseForm(FlaskForm):
    """An admin closing a ballot before its time."""
