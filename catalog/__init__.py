"""The co-op's shelf: channels, vendors, products, licence inventory and claims."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the catalogue's blueprints, navigation links and CLI commands."""
    from catalog import admin_views, invariants, views
    from catalog import personal as catalog_personal
    from catalog.cli import licences_cli
    from catalog.home import licences_card
    from market import personal
    from market.home import register_card
    from market.nav import register_nav
    from market.plugins import register_cli

    app.register_blueprint(views.bp)
    app.register_blueprint(views.licences_bp)
    app.register_blueprint(admin_views.bp)
    register_nav(app, "Catalogue", "catalog.catalogue", "all", order=10)
    register_nav(app, "My licences", "licences.my_licences", "member", order=70)
    register_nav(
        app,
        "Stock",
        "admin_catalog.stock",
        "admin",
        hint="Channels, vendors and products; key imports; low stock; seat usage.",
    )
    register_cli(app, licences_cli)
    invariants.register_all(app)
    register_card(app, licences_card)
    personal.register(
        app, "licences", catalog_personal.export_claims, catalog_personal.erase_claims
    )
    personal.register(
        app, "waitlists", catalog_personal.export_waitlist, catalog_personal.erase_waitlist
    )
