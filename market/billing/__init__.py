"""Dues through Stripe: subscriptions, webhooks, invoices booked in the ledger."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask

REAL_STRIPE_SOURCES = "https://js.stripe.com https://api.stripe.com https://hooks.stripe.com"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def configure(app: Flask) -> None:
    """Derive Stripe.js's URL and the CSP sources the card form needs from the settings."""
    cfg = app.config
    base = cfg.get("STRIPE_API_BASE", "").rstrip("/")
    cfg["STRIPE_API_BASE"] = base
    if not cfg.get("STRIPE_JS_URL"):
        # localstripe serves a fake Stripe.js that talks back to it.
        cfg["STRIPE_JS_URL"] = f"{base}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"
    if not cfg.get("CSP_EXTRA_SOURCES"):
        sources = {_origin(cfg["STRIPE_JS_URL"])}
        sources |= {_origin(base)} if base else set(REAL_STRIPE_SOURCES.split())
        cfg["CSP_EXTRA_SOURCES"] = " ".join(sorted(sources))


def init_app(app: Flask) -> None:
    """Register the dues pages, the webhook, the Stripe client and the `dues` CLI."""
    from market import personal
    from market.billing import gateway, invariants
    from market.billing import personal as billing_personal
    from market.billing.cli import dues_cli
    from market.billing.views import bp
    from market.nav import register_nav
    from market.plugins import register_cli

    configure(app)
    gateway.init_app(app)
    invariants.register_all(app)
    app.register_blueprint(bp)
    register_cli(app, dues_cli)
    register_nav(app, "My dues", "billing.my_dues", "member", order=80)
    personal.register(app, "dues", billing_personal.export_dues, billing_personal.erase_dues)
