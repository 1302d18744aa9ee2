"""Deal forms: asking for software, opening a deal, offers and counters (tier rows)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from market.deals.tiers import Tier, TierError, parse_price
from market.money_web import currency, locale, plain

TIER_ROWS = 5


class WantForm(FlaskForm):
    title = StringField(
        "Software", validators=[DataRequired("Name the software."), Length(max=120)]
    )
    maker = StringField("Made by", validators=[Length(max=120)])
    channel_id = SelectField("Channel it fits", coerce=int)
    description = TextAreaField("What you would use it for", validators=[Length(max=2000)])


class DealForm(FlaskForm):
    title = StringField(
        "Title", validators=[DataRequired("Give the deal a title."), Length(max=200)]
    )
    product_id = SelectField("Product (and so its vendor)", coerce=int)
    channel_id = SelectField("Paid from the budget of", coerce=int)
    want_request_id = SelectField("Answers the member request", coerce=int)
    seats_wanted = IntegerField(
        "Seats wanted", validators=[InputRequired("How many seats?"), NumberRange(min=1)]
    )
    term_months = IntegerField(
        "Term (months)", default=12, validators=[InputRequired(), NumberRange(min=1, max=60)]
    )
    notes = TextAreaField("Notes for the vendor", validators=[Length(max=5000)])
    justification = TextAreaField(
        "Justification",
        validators=[Length(max=5000)],
        description="Required when the vendor is a market leader: why not a challenger?",
    )
    group_buy = BooleanField("Group buy: only go ahead if enough members commit")
    min_members = IntegerField("Tips at (members)", validators=[Optional(), NumberRange(min=1)])
    deadline = DateTimeLocalField(
        "Commitment deadline (UTC)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )


class TierRow(Form):
    from_seats = IntegerField("From seats", validators=[Optional()])
    price = StringField("Price per seat per month", validators=[Optional(), Length(max=20)])


class OfferForm(FlaskForm):
    tiers = FieldList(FormField(TierRow), min_entries=TIER_ROWS, max_entries=TIER_ROWS)
    min_seats = IntegerField(
        "Minimum seats", validators=[InputRequired("Give the minimum number of seats.")]
    )
    term_months = IntegerField(
        "Term (months)", validators=[InputRequired("Give the term in months.")]
    )
    notes = TextAreaField("Notes", validators=[Length(max=5000)])

    def fill(self, tiers: list[Tier], min_seats: int, term_months: int) -> None:
        """Start from earlier terms, so a revision or counter is a small edit."""
        self.min_seats.data, self.term_months.data = min_seats, term_months
        for row, tier in zip(self.tiers.entries, tiers, strict=False):
            row.form.from_seats.data = tier.from_seats
            row.form.price.data = plain(tier.per_seat_cents)

    def parsed_tiers(self) -> list[Tier]:
        """The filled-in tier rows as Tiers; TierError naming a bad row."""
        tiers = []
        for number, row in enumerate(self.tiers.entries, start=1):
            seats, price = row.form.from_seats.data, (row.form.price.data or "").strip()
            if seats is None and not price:
                continue
            if seats is None or not price:
                raise TierError(f"Tier {number}: give both the seats and the price.")
            try:
                tiers.append(Tier(seats, parse_price(price, currency(), locale())))
            except TierError as exc:
                raise TierError(f"Tier {number}: {exc}") from None
        return tiers


class NoteForm(FlaskForm):
    note = TextAreaField("Note (optional)", validators=[Length(max=2000)])


class LinkForm(FlaskForm):
    days = IntegerField(
        "Link works for (days)", default=14, validators=[InputRequired(), NumberRange(1, 90)]
    )


class RatifyForm(FlaskForm):
    closes_at = DateTimeLocalField(
        "Vote closes at (UTC)",
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired("Choose when the vote closes.")],
    )


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons."""
