"""Discussions: a comment thread on any subject (a proposal, a deal ballot), keyed by kind+id.

A package that wants threads on its pages registers its subject kind with
`register_subject(app, kind, resolve)` and includes `discussions/thread.html`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the comment routes."""
    from market import personal
    from market.discussions import personal as comments
    from market.discussions import views

    app.register_blueprint(views.bp)
    personal.register(app, "comments", comments.export_comments, comments.erase_comments)
