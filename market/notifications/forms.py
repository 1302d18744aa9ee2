"""Inbox forms (CSRF only: the buttons carry no data)."""

from __future__ import annotations

from flask_wtf import FlaskForm


class ButtonForm(FlaskForm):
    """A POST button with its CSRF token."""
