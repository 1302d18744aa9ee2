"""Vendor deals: member demand, negotiation through private links, group buys, settlement."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the member, admin and vendor-link pages, the nav links and `deals settle`."""
    from market import personal
    from market.deals import admin_views, cli, groupbuy, vendor_views, views
    from market.deals import personal as deals_personal
    from market.deals.home import group_buy_card
    from market.home import register_card
    from market.nav import register_nav
    from market.plugins import register_cli, register_product_pointer

    app.register_blueprint(views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(vendor_views.bp)
    register_cli(app, cli.deals_cli)
    register_nav(app, "Deals", "deals.deal_list", "member", order=60)
    register_nav(
        app,
        "Deals",
        "admin_deals.deal_list",
        "admin",
        hint="Negotiate with vendors through private links; settle group buys.",
    )
    register_card(app, group_buy_card)
    register_product_pointer(app, groupbuy.group_buy_pointer)
    personal.register(
        app, "wants_and_group_buys", deals_personal.export_demand, deals_personal.erase_demand
    )
