"""Access control, deny by default.

Every endpoint needs a logged-in member unless its view is marked @public. Every endpoint
of a blueprint whose name starts with "admin" needs an admin. Every endpoint of a blueprint
whose name starts with "api" is checked by the API's token guard instead, against the scope
its view is marked with (@api_scope); unmarked, it is refused. One guard, in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

from flask import Blueprint, Flask, abort, current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from market.extensions import login_manager

if TYPE_CHECKING:
    from market.members.models import Member

F = TypeVar("F", bound=Callable[..., object])


def public(view: F) -> F:
    """Mark a view as open to anonymous visitors."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def admin_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """A blueprint whose every route is admin-only (the guard keys on the 'admin' prefix)."""
    if not name.startswith("admin"):
        raise ValueError("admin blueprints must be named admin_*")
    return Blueprint(name, import_name, url_prefix="/admin" + url_prefix)


def api_scope(scope: str) -> Callable[[F], F]:
    """Mark a JSON API view with what its caller needs: "public" (no token), "read",
    "member" or "admin" (a personal access token of that scope), or "vendor" (a deal's link).

    API views (blueprints named api*) are authorised by the API's token check alone; one
    without this mark is refused, as any unmarked page is for anonymous visitors.
    """

    def mark(view: F) -> F:
        view.api_scope = scope  # type: ignore[attr-defined]
        return view

    return mark


def register_api_guard(app: Flask, check: Callable[[object], ResponseReturnValue | None]) -> None:
    """Say how this app authorises requests to its API blueprints (the API package does)."""
    app.extensions["softcoop.api_guard"] = check


def current_member() -> Member:
    """The logged-in member (views behind the guard can rely on one being there)."""
    return cast("Member", current_user._get_current_object())  # type: ignore[attr-defined]


def _guard() -> ResponseReturnValue | None:
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if (request.blueprint or "").startswith("api"):
        # The API never reads the session cookie: only its own tokens authorise it (so a
        # cookie cannot make an API write without CSRF). No API guard: nothing is served.
        check = current_app.extensions.get("softcoop.api_guard")
        if check is None:
            abort(404)
        return check(view)
    if view is not None and getattr(view, "is_public", False):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if (request.blueprint or "").startswith("admin") and not current_user.is_admin:
        abort(403)
    return None


def init_app(app: Flask) -> None:
    """Install the guard in front of every request."""
    app.before_request(_guard)
