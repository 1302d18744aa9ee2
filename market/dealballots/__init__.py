"""Deal ballots: members approve candidate deals; Equal Shares chooses which are bought."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the member and admin pages and their nav links."""
    from market import personal
    from market.dealballots import admin_views, views
    from market.dealballots import personal as ballots_personal
    from market.nav import register_nav

    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    register_nav(app, "Deal ballots", "deal_ballots.index", "member", order=62)
    personal.register(
        app,
        "deal_ballot_approvals",
        ballots_personal.export_approvals,
        ballots_personal.erase_approvals,
    )
    register_nav(
        app,
        "Deal ballots",
        "admin_deal_ballots.index",
        "admin",
        hint="Put accepted deals to the members; Equal Shares chooses what a channel buys.",
    )
