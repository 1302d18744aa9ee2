"""Catalogue forms (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from market.bounds import CountField
from market.money_web import PercentField

KIND_CHOICES = [
    SelectChoice("key", "Key pool (one licence key per member)"),
    SelectChoice("seat", "Seat pool (a counted number of seats)"),
    SelectChoice("link", "Redemption link (no stock limit)"),
]


class ChannelForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    description = TextAreaField("Description", validators=[Length(max=4000)])
    steward_contact = StringField(
        "Steward contact", validators=[Length(max=254)], description="Who speaks for the channel."
    )
    active = BooleanField("Active (shown in the catalogue, funded by the vote)", default=True)


class VendorForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    website = StringField("Website", validators=[Optional(), Length(max=254)])
    contact_email = StringField(
        "Contact email",
        validators=[Optional(), Length(max=254)],
        description="Told by email when the co-op counters an offer.",
    )
    category = StringField(
        "Market category",
        validators=[DataRequired(), Length(max=80)],
        description="The market its share is measured in, e.g. 'password managers'.",
    )
    market_share = PercentField(
        "Market share (%)",
        validators=[InputRequired(message="Give the vendor's market share in per cent.")],
        description="At or above the leader threshold, or the largest in its category: a leader.",
    )


class ProductForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    vendor_id = SelectField("Vendor", coerce=int, validate_choice=True)
    channel_id = SelectField("Channel", coerce=int, validate_choice=True)
    category = StringField(
        "Category", validators=[DataRequired(), Length(max=80)], description="e.g. 'vpn'."
    )
    kind = SelectField("Kind", choices=KIND_CHOICES)
    description = TextAreaField("Description", validators=[Length(max=4000)])
    terms = TextAreaField("Licence terms", validators=[Length(max=4000)])
    reassignable = BooleanField(
        "Reassignable (a released licence goes back to stock; otherwise it is retired)",
        default=True,
    )
    seats_total = CountField(
        "Seats (seat pools only)",
        default=0,
        validators=[Optional(), NumberRange(min=0, max=10_000_000)],
    )
    redemption_url = StringField(
        "Redemption URL (link products)",
        validators=[Optional(), Length(max=500)],
        description="{token} in the URL is replaced by each member's own token.",
    )
    justification = TextAreaField(
        "Justification (required for a market leader's product)",
        validators=[Length(max=4000)],
        description="Why the co-op lists a leader's product; kept and shown on its page.",
    )
    active = BooleanField("Active (members can see and claim it)", default=True)


class KeyImportForm(FlaskForm):
    file = FileField("CSV file of keys", validators=[FileRequired("Choose a CSV file.")])
    skip_bad = BooleanField(
        "Import the valid rows and skip the rejected ones",
        description="Unticked, a file with any rejected row imports nothing.",
    )


class EmptyForm(FlaskForm):
    """Just the CSRF token (claim and release buttons)."""
