"""Forms for rounds. The split's share fields are parsed by allocation.ballots (one per channel)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, Field, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    StopValidation,
)

from allocation.models import RULE_LABELS
from market.money_web import MoneyField


class VoteForm(FlaskForm):
    """CSRF plus the round the split is for; the share fields are read separately."""

    round_id = HiddenField()
    action = HiddenField(default="vote")


class OpenRoundForm(FlaskForm):
    """An admin opens a month's round."""

    period = StringField(
        "Month",
        validators=[DataRequired(), Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", message="Like 2026-11.")],
        description="The month whose pool the round splits, e.g. 2026-11.",
    )
    rule = SelectField(
        "Rule",
        choices=[SelectChoice(rule.value, label) for rule, label in RULE_LABELS.items()],
    )
    closes_on = DateField(
        "Voting closes on", validators=[Optional()], description="Default: the month's end."
    )


MILLI = Decimal("0.001")
MAX_WEIGHT = 100


def stored_weight(_form: FlaskForm, field: Field) -> None:
    """A weight between 0 and 100 in thousandths, the precision it is stored at.

    Runs before any comparison: `NaN` would make NumberRange raise, and a finer value
    would be stored rounded down without a word.
    """
    value = field.data
    if not isinstance(value, Decimal) or not value.is_finite():
        raise StopValidation("Write a number between 0 and 100, such as 1 or 0.5.")
    if not 0 <= value <= MAX_WEIGHT:
        raise StopValidation("A weight is between 0 and 100.")
    try:
        exact = value == value.quantize(MILLI)
    except InvalidOperation:
        exact = False
    if not exact:
        raise StopValidation(
            f"Weights are kept to three decimals (0.001); {value} is finer than that."
        )


class WeightsForm(FlaskForm):
    """How much each member class's ballots count in this round."""

    consumer = DecimalField(
        "Consumer weight", places=3, validators=[InputRequired(), stored_weight]
    )
    worker = DecimalField("Worker weight", places=3, validators=[InputRequired(), stored_weight])


class CloseForm(FlaskForm):
    """Just CSRF: the close button."""


class PayoutForm(FlaskForm):
    """An admin records money sent to a channel."""

    channel_id = SelectField("Channel", coerce=int)
    amount = MoneyField("Amount", validators=[InputRequired("Give the amount paid.")], minimum=1)
    paid_on = DateField("Paid on", validators=[DataRequired()])
    period = SelectField(
        "For the round of",
        description="The month whose allocation this pays; the Books show it under that month.",
        validate_choice=False,  # checked by the service, which gives the reason
    )
    reference = StringField("Bank reference", validators=[DataRequired(), Length(max=64)])
