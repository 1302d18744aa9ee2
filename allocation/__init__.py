"""Budget allocation: rules (pure), rounds, ballots, tallies, audit."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register the budget-round blueprints, navigation links and `flask rounds` commands."""
    # Imported here so that `allocation.rules` and the standalone recount stay Flask-free.
    from allocation import invariants
    from allocation import personal as ballots_personal
    from allocation.cli import rounds_cli
    from allocation.home import vote_card
    from allocation.payout_views import admin_payouts_bp
    from allocation.receipt_views import find_receipt  # noqa: F401  (routes on bp)
    from allocation.views import admin_bp, bp
    from market import personal
    from market.home import register_card
    from market.nav import register_nav
    from market.plugins import register_cli

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(admin_payouts_bp)
    register_cli(app, rounds_cli)
    invariants.register_all(app)
    register_card(app, vote_card)
    personal.register(
        app, "ballots", ballots_personal.export_ballots, ballots_personal.erase_ballots
    )
    register_nav(app, "Budget", "rounds.index", "all", order=20)
    register_nav(app, "Vote", "rounds.vote", "member", order=40)
    register_nav(
        app,
        "Rounds",
        "admin_rounds.admin_index",
        "admin",
        hint="Open a month's budget round, set class weights, close and publish.",
    )
    register_nav(
        app,
        "Payouts",
        "admin_payouts.payouts_page",
        "admin",
        hint="Pay channels what they are owed, with bank references.",
    )
