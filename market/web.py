"""App-wide web plumbing: home page, security headers, error pages, template helpers."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from market.auth import public
from market.db import get_session
from market.errors import DomainError
from market.extensions import login_manager
from market.members.models import Member
from market.money import Money


@public
def index() -> ResponseReturnValue:
    return render_template("index.html")


def _security_headers(response: Response) -> Response:
    extra = current_app.config.get("CSP_EXTRA_SOURCES", "")
    csp = (
        "default-src 'self'; "
        f"script-src 'self' {extra}; "
        f"frame-src 'self' {extra}; "
        f"connect-src 'self' {extra}; "
        "img-src 'self' data:; style-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers.setdefault("Content-Security-Policy", " ".join(csp.split()))
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _error_page(code: int, title: str, message: str) -> ResponseReturnValue:
    return render_template("error.html", code=code, title=title, message=message), code


def _handle_http(exc: HTTPException) -> ResponseReturnValue:
    if isinstance(exc, CSRFError):
        return _error_page(
            400,
            "Form expired",
            "The form was missing its security token or "
            "it expired. Go back, reload the page and try again.",
        )
    code = exc.code or 500
    return _error_page(code, exc.name, exc.description or "")


def _handle_domain(exc: DomainError) -> ResponseReturnValue:
    return _error_page(exc.status_code, "Not possible", exc.message)


def _load_member(member_id: str) -> Member | None:
    if not member_id.isdigit():
        return None
    return get_session().get(Member, int(member_id))


def _template_helpers() -> dict[str, Any]:
    def money(cents: int, currency: str | None = None) -> str:
        cur = currency or current_app.config["CURRENCY"]
        return Money(int(cents), cur).format(current_app.config["LOCALE"])

    return {"money": money, "endpoint": request.endpoint or ""}


def init_app(app: Flask) -> None:
    """Register the core blueprint, headers, error pages and login loading."""
    app.add_url_rule("/", "index", index)
    from market.members.views import admin_bp
    from market.members.views import bp as members_bp

    app.register_blueprint(members_bp)
    app.register_blueprint(admin_bp)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(DomainError, _handle_domain)
    app.context_processor(_template_helpers)
    app.context_processor(_nav_items)
    register_nav(app, "Members", "admin_members.member_list", "admin")
    login_manager.user_loader(_load_member)
    login_manager.login_view = "members.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"


def register_nav(app: Flask, label: str, endpoint: str, audience: str = "all") -> None:
    """Add a link to the main navigation; audience is 'all', 'member' or 'admin'."""
    app.extensions.setdefault("softcoop.nav", []).append((label, endpoint, audience))


def _nav_items() -> dict[str, Any]:
    from flask import url_for
    from flask_login import current_user

    items = []
    for label, endpoint, audience in current_app.extensions.get("softcoop.nav", []):
        if audience == "member" and not current_user.is_authenticated:
            continue
        if audience == "admin" and not (current_user.is_authenticated and current_user.is_admin):
            continue
        blueprint = endpoint.split(".")[0]
        items.append(
            {
                "label": label,
                "url": url_for(endpoint),
                "active": (request.endpoint or "").split(".")[0] == blueprint,
            }
        )
    return {"nav_items": items}
