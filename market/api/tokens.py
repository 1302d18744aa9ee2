"""The API's token check: `Authorization: Bearer sc_…` (a personal access token).

Run by the app's one guard (market.auth) for every API request, against the scope the view
is marked with. The session cookie is never read here, so it cannot authorise anything.
"""

from __future__ import annotations

import hashlib
from typing import cast

from flask import g, request
from flask.typing import ResponseReturnValue

from market.api.problems import INSUFFICIENT_SCOPE, INVALID_TOKEN, ApiProblem
from market.bounds import INT_MAX
from market.extensions import address, refuse_token
from market.members import tokens
from market.members.models import ApiToken, Member
from market.webdb import get_session

READS = {"GET", "HEAD", "OPTIONS"}
CHALLENGE = 'Bearer realm="softcoop"'


def bearer() -> str | None:
    """The bearer credential of this request, if it sent one."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _unauthorized(detail: str, slug: str | None = None) -> ApiProblem:
    return ApiProblem(401, detail, slug, WWW_Authenticate=CHALLENGE)


def check(view: object) -> ResponseReturnValue | None:
    """Authorise this API request for its view's scope; raise a problem when it may not."""
    needed = getattr(view, "api_scope", None)
    if needed is None:
        raise ApiProblem(404, "No such API operation.")
    if any(isinstance(v, int) and v > INT_MAX for v in (request.view_args or {}).values()):
        raise ApiProblem(404, "No such thing: ids are at most " + str(INT_MAX) + ".")
    if needed == "public":
        return None  # public operations ignore any token
    secret = bearer()
    if needed == "vendor":
        _open_vendor_link(secret)
        return None
    if secret is None:
        raise _unauthorized("Send a personal access token: Authorization: Bearer sc_…")
    found = tokens.resolve(get_session(), secret)
    if found is None:
        refuse_token()
        raise _unauthorized("That token is unknown, expired or revoked.", INVALID_TOKEN)
    token, member = found
    scope = tokens.effective_scope(token, member)
    g.api_token, g.api_member, g.api_scope = token, member, scope
    if not tokens.scope_allows(scope, needed):
        raise ApiProblem(403, f"This operation needs a token with the {needed} scope.",
                         INSUFFICIENT_SCOPE)  # fmt: skip
    if request.method not in READS:
        if scope == "read":
            raise ApiProblem(403, "A read-only token cannot change anything.", INSUFFICIENT_SCOPE)
        tokens.touch(get_session(), token)
    return None


def _open_vendor_link(secret: str | None) -> None:
    """A vendor's operation: the deal's private link token, else 401 (none) or 404 (bad)."""
    from market.deals import links
    from market.errors import NotFound

    if secret is None:
        raise _unauthorized("Send the token of your private link: Authorization: Bearer …")
    try:
        g.vendor_deal, g.vendor_link = links.resolve(get_session(), secret)
    except NotFound:
        # Forged, expired, revoked: a bare 404, as on the page (nothing says a deal exists).
        refuse_token()
        raise ApiProblem(404, "No such deal.") from None


def api_member() -> Member:
    """The member whose token authorised this request (views with a token scope only)."""
    return cast(Member, g.api_member)


def api_token() -> ApiToken:
    """The token that authorised this request."""
    return cast(ApiToken, g.api_token)


def rate_key() -> str:
    """Rate-limit key: the token (by digest: no database read needed), else the address."""
    secret = bearer()
    if secret:
        return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:24]
    return address()


def member_key() -> str:
    """Rate-limit key of a per-member budget shared with the pages ("member:<id>").

    A member's proposals or wants count against one budget whichever door they use, and
    however many tokens they make.
    """
    secret = bearer()
    found = tokens.resolve(get_session(), secret) if secret else None
    if found is None:
        return rate_key()
    return f"member:{found[1].id}"
