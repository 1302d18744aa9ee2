"""The app factory: the shell that puts the kernel, the domains and the read models together."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask

from market import config as config_module


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, overridden by `config`."""
    app = Flask(
        __name__,
        template_folder=str(config_module.ROOT / "templates"),
        instance_path=str(config_module.INSTANCE),
    )
    settings = config_module.from_env()
    settings.update(config or {})
    config_module.resolve_secret(settings)
    config_module.validate(settings)
    app.config.update(settings)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not (app.debug or app.testing)
        and not settings.get("INSECURE_COOKIES"),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # A remember cookie lasts as long as the server-side session it names.
        REMEMBER_COOKIE_DURATION=timedelta(days=int(settings.get("SESSION_DAYS", 30))),
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]

    from market import auth, cli, ops, web, webdb
    from market.extensions import csrf, limiter, login_manager

    ops.init_app(app)
    webdb.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    # Flask-Limiter keeps the first app's key prefix forever ("old or new"); every app built
    # in this process (tests build many) must count under its own.
    limiter._key_prefix = app.config.get("RATELIMIT_KEY_PREFIX", "")
    login_manager.init_app(app)
    auth.init_app(app)
    web.init_app(app)
    cli.init_app(app)

    from market import billing, books

    books.init_app(app)  # first, as the ledger was: the admin home lists sections in order
    billing.init_app(app)

    import allocation
    import catalog

    catalog.init_app(app)
    allocation.init_app(app)

    from market import discussions, notifications, proposals

    notifications.init_app(app)
    discussions.init_app(app)
    proposals.init_app(app)

    from market import deals, reserve

    deals.init_app(app)
    reserve.init_app(app)

    from market import dealballots

    dealballots.init_app(app)

    from market import jobs

    jobs.init_app(app)

    from market import api

    api.init_app(app)
    return app
