"""The Books: the public read model of the co-op's money, and the admin ledger pages.

It reads the ledger, dues and catalogue tables, so it sits above those domains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register the public Books page and the admin ledger."""
    from market.books.views import admin_bp, bp
    from market.nav import register_nav

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    register_nav(app, "Books", "ledger.books", "all", order=30)
    register_nav(
        app,
        "Ledger",
        "admin_ledger.ledger",
        "admin",
        hint="Every account and transaction, with filters and a CSV export.",
    )
