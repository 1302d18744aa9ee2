"""The JSON API under /api/v1 (flask-smorest): public reads, members', vendors', admins'.

The OpenAPI 3.1 document is generated from the marshmallow schemas that validate the
requests (`/api/v1/openapi.json`) and rendered on the server as a page (`/api/v1/docs`: no
script, so the app's CSP holds). Authorisation is the app's one guard, which hands API
requests to the token check (market.api.tokens); errors are problem+json (market.api.problems).
The API never reads the session cookie, so it is exempt from CSRF: no cookie can make a write.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint
from flask_smorest.utils import prepare_response

from market.api import (
    admin,
    deals,
    decisions,
    member,
    problems,
    public,
    tokens,
    vendor,
)
from market.api.schemas.base import Problem
from market.auth import api_scope, register_api_guard
from market.bounds import INT_MAX
from market.extensions import csrf, limiter, token_budget

PREFIX = "/api/v1"
SECURITY_SCHEME = "token"
VENDOR_SCHEME = "vendorLink"
BLUEPRINTS: list[Blueprint] = [
    public.bp,
    member.bp,
    deals.bp,
    decisions.bp,
    vendor.bp,
    admin.bp,
]

docs_bp = Blueprint("api_docs", __name__, url_prefix=PREFIX, description="This document.")


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest's Api with problem+json errors (the app's handlers answer them)."""

    ERROR_SCHEMA = Problem

    def _register_error_handlers(self) -> None:
        """The app's own handlers turn API errors into problems (market.web)."""

    def _register_responses(self) -> None:
        import http

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, problems.MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def _rate() -> str:
    return str(current_app.config.get("API_RATE_LIMIT", "300 per minute"))


# Once, at import: the limiter and the CSRF guard are process-wide, the blueprints too.
# Two budgets: requests per token (per address without one), refused tokens per address.
for _bp in [*BLUEPRINTS, docs_bp]:
    csrf.exempt(_bp)
    # Shared limits: one count across every operation (a per-route limit would give each
    # operation a budget of its own).
    limiter.shared_limit(_rate, "API_RATE_LIMIT", key_func=tokens.rate_key)(_bp)
    token_budget(_bp)


def _path_of(rule: str) -> str:
    import re

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document, with each operation's token scope as its security."""
    api: Api = app.extensions["softcoop.api"]
    spec = api.spec.to_dict()
    spec.setdefault("components", {})["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (sc_…) made on your profile page.",
        },
        VENDOR_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "The token of a deal's private link (vendors).",
        },
    }
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api_") or rule.endpoint.startswith("api_docs"):
            continue
        scope = getattr(app.view_functions[rule.endpoint], "api_scope", None)
        operations = spec["paths"].get(_path_of(rule.rule), {})
        for method in rule.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            operation["x-scope"] = scope
            if scope == "vendor":
                operation["security"] = [{VENDOR_SCHEME: []}]
            elif scope != "public":
                operation["security"] = [{SECURITY_SCHEME: []}]
    return spec


@docs_bp.route("/openapi.json")
@api_scope("public")
def openapi_json() -> ResponseReturnValue:
    """This API's OpenAPI 3.1 document."""
    return document(current_app)


@docs_bp.route("/docs")
@api_scope("public")
def docs_page() -> ResponseReturnValue:
    """The OpenAPI document as a page (rendered on the server)."""
    spec = document(current_app)
    operations = [
        (path, method.upper(), op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in {"get", "put", "post", "delete", "patch"}
    ]
    return render_template(
        "api/docs.html",
        spec=spec,
        operations=operations,
        schemas=spec.get("components", {}).get("schemas", {}),
    )


def init_app(app: Flask) -> None:
    """Mount the API and its document; hand API requests' authorisation to the token check."""
    app.config.setdefault("API_TITLE", "softcoop")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("API_RATE_LIMIT", "300 per minute")
    api = Api(
        spec_kwargs={
            "info": {
                "description": "The co-op's catalogue, Books and rounds for anyone; members' "
                "claims, ballots and receipts with a personal access token; admins' ledger."
            }
        }
    )
    app.config["OPENAPI_URL_PREFIX"] = None  # the document is served by docs_bp instead
    api.init_app(app)
    converter = app.url_map.converters["int"]
    api.register_converter(
        converter, lambda _c: {"type": "integer", "minimum": 0, "maximum": INT_MAX}
    )
    app.extensions["softcoop.api"] = api
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_bp)
    register_api_guard(app, tokens.check)
