"""The co-op's books: double-entry accounts, transactions and postings in integer cents.

Convention: a transaction *moves* money between accounts. Each posting is the change to one
account (negative where money leaves, positive where it arrives) and a transaction's
postings sum to zero. So an account's balance is what it holds: the pool holds what members
paid in, a channel's payable what the co-op owes that channel, and the Stripe clearing
account holds minus everything that ever came in from outside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register the public Books page and the admin ledger."""
    from market.ledger.views import admin_bp, bp
    from market.web import register_nav

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
