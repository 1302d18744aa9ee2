"""Flask extensions, created unbound and bound to each app in the factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Response, current_app, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

F = TypeVar("F", bound=Callable[..., object])


def address() -> str:
    """Rate-limit key: the client's address."""
    return f"addr:{get_remote_address() or 'unknown'}"


def member_or_address() -> str:
    """Rate-limit key: the logged-in member, else the client's address."""
    if current_user.is_authenticated:
        return f"member:{current_user.id}"
    return address()


def refused(response: Response) -> bool:
    """Count a request against a failure budget only when it was refused (4xx)."""
    return 400 <= response.status_code < 500


def throttle(
    setting: str,
    message: str,
    *,
    key_func: Callable[[], str] = member_or_address,
    deduct_when: Callable[[Response], bool] | None = None,
    shared: bool = False,
) -> Callable[[F], F]:
    """Limit a route's writes to the rate in config[setting] (e.g. "5 per hour"), per key.

    `shared`: one budget for every route throttled by this setting with shared=True (a page
    and its API operation), so a second door does not double anyone's share.
    """

    def rate() -> str:
        return str(current_app.config[setting])

    if shared:
        return limiter.shared_limit(  # type: ignore[return-value]
            rate,
            setting,
            methods=["POST", "PUT", "PATCH", "DELETE"],
            key_func=key_func,
            error_message=message,
            deduct_when=deduct_when,
        )
    return limiter.limit(  # type: ignore[return-value]
        rate,
        methods=["POST"],
        key_func=key_func,
        error_message=message,
        deduct_when=deduct_when,
        scope=setting,
    )


def refuse_token() -> None:
    """Mark this request's token (an API token, a vendor link) as refused: see `token_budget`."""
    g.token_refused = True


def _token_refused(_response: Response) -> bool:
    return bool(g.get("token_refused"))


def token_budget(bp: Blueprint) -> None:
    """Refused tokens spend one budget per address (BAD_TOKEN_RATE_LIMIT) on these routes.

    A budget per token cannot stop guessing, each made-up token being a key of its own: one
    address could try tokens, each a database look-up, without end. Once the budget is
    spent, that address waits, good token or not. One count for every blueprint given it.
    """
    limiter.shared_limit(
        lambda: str(current_app.config["BAD_TOKEN_RATE_LIMIT"]),
        "BAD_TOKEN_RATE_LIMIT",
        key_func=address,
        deduct_when=_token_refused,
        error_message="Too many refused tokens from your address. Please wait and try again.",
    )(bp)
