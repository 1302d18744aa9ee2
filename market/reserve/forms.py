"""Reserve forms: propose a spend (members), set the target and the ballot entry (admins)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from market.money_web import MoneyField
from market.proposals.services import MAX_BODY, MAX_TITLE
from market.reserve.services import MAX_PURPOSE


class SpendForm(FlaskForm):
    payee = SelectField(
        "Payee",
        coerce=int,
        validate_choice=True,
        description="The vendor the co-op would pay.",
    )
    amount = MoneyField(
        "Amount",
        minimum=1,
        validators=[InputRequired("Give the amount to spend.")],
        description="No more than the reserve holds now.",
    )
    title = StringField(
        "Title",
        validators=[DataRequired("Please give the decision a title."), Length(max=MAX_TITLE)],
    )
    reason = TextAreaField(
        "Why",
        validators=[
            DataRequired("Please say why the co-op should spend this."),
            Length(max=MAX_BODY),
        ],
        description="Markdown. The amount and the payee are added to the proposal for you.",
    )
    closes_at = DateTimeLocalField(
        "Closes at (UTC)",
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired("Please choose when the decision closes.")],
        description="At least an hour from now. Times are UTC.",
    )


class TargetForm(FlaskForm):
    target = MoneyField(
        "Target",
        minimum=1,
        validators=[InputRequired("Give the target amount.")],
    )
    purpose = StringField(
        "What it is for",
        validators=[Length(max=MAX_PURPOSE)],
        description="Shown with the progress bar, e.g. the platform the co-op saves to buy.",
    )


class BallotForm(FlaskForm):
    on_ballot = BooleanField("On the monthly ballot (from the next round)")
