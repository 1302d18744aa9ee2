"""The acquisition reserve: voted into like a channel, kept, spent only by a passed decision."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the reserve's pages, nav link, `reserve settle`, invariants and personal data."""
    from market import personal
    from market.nav import register_nav
    from market.plugins import register_cli
    from market.reserve import cli, invariants, views
    from market.reserve import personal as reserve_personal

    app.register_blueprint(views.bp)
    app.register_blueprint(views.admin_bp)
    register_cli(app, cli.reserve_cli)
    invariants.register_all(app)
    personal.register(app, "acquisition reserve", reserve_personal.export_reserve)
    register_nav(
        app,
        "Acquisition reserve",
        "admin_reserve.settings",
        "admin",
        hint="Put the reserve on the ballot and set its public target.",
    )
