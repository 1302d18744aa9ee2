"""Comment forms: the body is limited here too, so a huge post is refused before parsing."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from market.discussions.services import MAX_COMMENT


class CommentForm(FlaskForm):
    """A new comment or a reply (parent_id)."""

    body = TextAreaField(
        "Comment",
        validators=[
            DataRequired("Please write your comment."),
            Length(
                max=MAX_COMMENT, message=f"A comment can have at most {MAX_COMMENT:,} characters."
            ),
        ],
        description="Markdown: **bold**, *italic*, lists, [links](https://…).",
    )
    parent_id = HiddenField(validators=[Optional(), Regexp(r"^\d{1,18}$", message="Bad reply.")])


class EditForm(FlaskForm):
    """Change a comment's text."""

    body = TextAreaField(
        "Comment",
        validators=[
            DataRequired("Please write your comment."),
            Length(
                max=MAX_COMMENT, message=f"A comment can have at most {MAX_COMMENT:,} characters."
            ),
        ],
    )


class DeleteForm(FlaskForm):
    """A delete button (CSRF only)."""
