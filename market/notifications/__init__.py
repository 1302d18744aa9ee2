"""Notifications: a member's inbox, and an outbox of emails delivered by a CLI job."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the inbox pages, the unread count for the nav, and `notifications send`."""
    from market import personal
    from market.notifications import cli, views
    from market.notifications import personal as notes_personal
    from market.notifications.services import notify, queue_email
    from market.plugins import register_cli, register_mailer, register_notifier

    register_notifier(app, notify)
    register_mailer(app, queue_email)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.unsubscribe_bp)
    app.context_processor(views.inbox_badge)
    register_cli(app, cli.notifications_cli)
    personal.register(app, "inbox", notes_personal.export_inbox, notes_personal.erase_inbox)
