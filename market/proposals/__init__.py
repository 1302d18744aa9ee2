"""Decisions: Loomio-style proposals (agree, abstain, disagree, block) and ratification."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the Decisions pages, the Markdown filter, the nav link and `proposals close`."""
    from market import personal
    from market.discussions.services import register_subject
    from market.home import register_card
    from market.nav import register_nav
    from market.plugins import register_cli
    from market.proposals import cli, views
    from market.proposals import personal as proposals_personal
    from market.proposals.home import decisions_card
    from market.proposals.markdown import render_markdown

    app.register_blueprint(views.bp)
    app.add_template_filter(render_markdown, "markdown")
    register_cli(app, cli.proposals_cli)
    register_nav(app, "Decisions", "proposals.proposal_list", "member", order=50)
    register_card(app, decisions_card)
    personal.register(app, "decisions", proposals_personal.export_positions)
    register_subject(app, "proposal", views.proposal_subject)
