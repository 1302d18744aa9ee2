"""Proposal forms: start a proposal, take a position, write the outcome."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length

from market.proposals.models import Stance
from market.proposals.services import MAX_BODY, MAX_OUTCOME, MAX_REASON, MAX_TITLE

STANCE_LABELS: dict[str, str] = {
    Stance.AGREE.value: "Agree",
    Stance.ABSTAIN.value: "Abstain",
    Stance.DISAGREE.value: "Disagree",
    Stance.BLOCK.value: "Block",
}


class ProposalForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[DataRequired("Please give the proposal a title."), Length(max=MAX_TITLE)],
    )
    body = TextAreaField(
        "Proposal",
        validators=[DataRequired("Please write the proposal."), Length(max=MAX_BODY)],
        description="Markdown: **bold**, *italic*, lists, [links](https://…).",
    )
    closes_at = DateTimeLocalField(
        "Closes at (UTC)",
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired("Please choose when the proposal closes.")],
        description="At least an hour from now. Times are UTC.",
    )
    results = RadioField(
        "Results",
        choices=[
            SelectChoice("open", "Show results while the proposal is open"),
            SelectChoice("closed", "Show results only after it closes"),
        ],
        default="open",
    )
    anonymous = BooleanField(
        "Anonymous poll",
        description="Positions are counted, but nobody (admins included) sees who took which "
        "position or who took none. Each member sees and can change their own.",
    )


class PositionForm(FlaskForm):
    stance = RadioField(
        "Position",
        choices=[SelectChoice(value, label) for value, label in STANCE_LABELS.items()],
        validators=[InputRequired("Choose Agree, Abstain, Disagree or Block.")],
    )
    reason = TextAreaField(
        "Reason",
        validators=[Length(max=MAX_REASON)],
        description="Optional, except for a block.",
    )


class OutcomeForm(FlaskForm):
    statement = TextAreaField(
        "Outcome",
        validators=[DataRequired("Please write the outcome."), Length(max=MAX_OUTCOME)],
        description="What was decided and what happens next. Members are notified.",
    )
