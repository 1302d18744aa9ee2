"""Configuration, read once from the environment by the app factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


class ConfigError(RuntimeError):
    """The app cannot start with this configuration."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the settings dict from environment variables (defaults suit development)."""
    env = os.environ if env is None else env
    debug = _flag(env, "FLASK_DEBUG")
    return {
        "DEBUG": debug,
        "SECRET_KEY": env.get("SECRET_KEY"),
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'softcoop.db'}",
        # A streaming replica for public pages that tolerate a little staleness (optional).
        "DATABASE_REPLICA_URL": env.get("DATABASE_REPLICA_URL", ""),
        # After a member's own write, their pages read the primary for this long.
        "REPLICA_FRESH_SECONDS": _int(env, "REPLICA_FRESH_SECONDS", 30),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "CURRENCY": env.get("CURRENCY", "usd").lower(),
        "MONTHLY_FEE_CENTS": _int(env, "MONTHLY_FEE_CENTS", 500),
        "OPS_SHARE_BP": _int(env, "OPS_SHARE_BP", 1000),
        "GRACE_DAYS": _int(env, "GRACE_DAYS", 14),
        "LEADER_SHARE_BP": _int(env, "LEADER_SHARE_BP", 2000),
        "RATIFY_ABOVE_CENTS": _int(env, "RATIFY_ABOVE_CENTS", 50_000),
        # How long a vendor's private deal link works unless revoked sooner.
        "DEAL_LINK_DAYS": _int(env, "DEAL_LINK_DAYS", 14),
        "LOCALE": env.get("LOCALE", "en_US"),
        "PASSWORD_TIME_COST": _int(env, "PASSWORD_TIME_COST", 3),
        "PASSWORD_MEMORY_KIB": _int(env, "PASSWORD_MEMORY_KIB", 65536),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 16 * 1024 * 1024),
        "CSP_EXTRA_SOURCES": env.get("CSP_EXTRA_SOURCES", ""),
        # Email: with no SMTP_HOST, `notifications send` prints messages instead.
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": _int(env, "SMTP_PORT", 25),
        "SMTP_FROM": env.get("SMTP_FROM", "Commons Software Co-op <noreply@localhost>"),
        # Links in emails are made absolute with this (e.g. https://coop.example).
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000"),
        # Stripe: empty STRIPE_API_BASE means the real https://api.stripe.com; the dev
        # server and the tests point it at a localstripe they start themselves.
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", ""),
        "STRIPE_API_KEY": env.get("STRIPE_API_KEY", ""),
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        "STRIPE_JS_URL": env.get("STRIPE_JS_URL", ""),
        "STRIPE_TIMEOUT_SECONDS": _int(env, "STRIPE_TIMEOUT_SECONDS", 20),
        "AUDIT_DIR": env.get("AUDIT_DIR") or str(INSTANCE / "audit"),
        # Cookies without the Secure flag, for servers on plain-HTTP localhost (test servers).
        "INSECURE_COOKIES": _flag(env, "INSECURE_COOKIES"),
    }


def validate(config: Mapping[str, Any]) -> None:
    """Refuse to start on settings that would be unsafe or meaningless."""
    if not config.get("SECRET_KEY") and not (config.get("DEBUG") or config.get("TESTING")):
        raise ConfigError(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), "
            "or run with FLASK_DEBUG=1 for local development."
        )
    if config["MONTHLY_FEE_CENTS"] <= 0:
        raise ConfigError("MONTHLY_FEE_CENTS must be positive")
    if not 0 <= config["OPS_SHARE_BP"] <= 10_000:
        raise ConfigError("OPS_SHARE_BP must be between 0 and 10000 basis points")
    if config["GRACE_DAYS"] < 0:
        raise ConfigError("GRACE_DAYS cannot be negative")
