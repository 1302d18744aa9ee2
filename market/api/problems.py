"""API errors as RFC 9457 problem details (`application/problem+json`) with a stable `type`.

Every refusal the API gives, from the token check, the request validation, a service's
DomainError, the rate limit or a missing route, comes out through `problem_response`.
"""

from __future__ import annotations

from typing import Any

from flask import Response, json
from werkzeug.exceptions import HTTPException

from market.errors import DomainError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:softcoop:problem:"

# status -> (slug of the stable type, title); a DomainError keeps its own message as detail.
BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "A valid token is needed"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "The request did not validate"),
    429: ("rate-limited", "Too many requests"),
    500: ("server-error", "Something went wrong on our side"),
}
# Special cases that get a type of their own (so clients can branch on them).
INVALID_TOKEN = "invalid-token"
INSUFFICIENT_SCOPE = "insufficient-scope"
NOT_ALLOWED = "not-allowed"  # a service's Forbidden: the member may not do this (standing...)


def problem_type(slug: str) -> str:
    """The stable `type` URI of a problem slug."""
    return TYPE_BASE + slug


def problem_response(
    status: int,
    detail: str = "",
    *,
    slug: str | None = None,
    errors: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One problem document as a response."""
    default_slug, title = BY_STATUS.get(status, (f"http-{status}", "Error"))
    body: dict[str, Any] = {
        "type": problem_type(slug or default_slug),
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ApiProblem(HTTPException):
    """Raise to answer an API request with a problem of a particular type."""

    def __init__(self, status: int, detail: str, slug: str | None = None, **headers: str) -> None:
        super().__init__(detail)
        self.code = status
        self.slug = slug
        self.extra_headers = {k.replace("_", "-"): v for k, v in headers.items()}


def from_http(exc: HTTPException) -> Response:
    """A werkzeug/webargs/Flask-Limiter HTTP error as a problem."""
    status = exc.code or 500
    if isinstance(exc, ApiProblem):
        return problem_response(
            status, exc.description or "", slug=exc.slug, headers=exc.extra_headers
        )
    data = getattr(exc, "data", None) or {}
    errors = data.get("messages") if isinstance(data, dict) else None
    detail = exc.description or ""
    if status == 422:
        detail = "Some fields are missing or not valid: see errors."
    if status == 500:
        detail = ""  # never leak internals
    headers: dict[str, str] = {}
    if status == 405 and exc.get_headers():
        headers = {k: v for k, v in exc.get_headers() if k == "Allow"}
    if status == 429:
        headers["Retry-After"] = "60"
    return problem_response(status, detail, errors=errors, headers=headers)


def from_domain(exc: DomainError) -> Response:
    """A service's refusal as a problem (its message is written for people: keep it)."""
    slug = NOT_ALLOWED if exc.status_code == 403 else None
    return problem_response(exc.status_code, exc.message, slug=slug)
