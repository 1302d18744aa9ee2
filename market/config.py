"""Configuration, read once from the environment by the app factory."""

from __future__ import annotations

import os
import secrets
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
        # Shared state for several hosts: rate limits (and, with jobs, the broker) in Redis.
        "REDIS_URL": env.get("REDIS_URL", ""),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI")
        or env.get("REDIS_URL")
        or "memory://",
        # Redis down (restarting, unreachable): count in this process meanwhile rather than
        # answer 500 (the throttle holds per process until Redis is back).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # Several co-ops (or test runs) may share one Redis: each keeps its own counters.
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "softcoop"),
        # How many proxies (load balancers) in front of the app set X-Forwarded-* headers.
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # Failed logins per client address, and per account from any address.
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get("LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes"),
        # Sign-ups per address; password changes, wants and proposals per member.
        "SIGNUP_RATE_LIMIT": env.get("SIGNUP_RATE_LIMIT", "10 per hour"),
        "PASSWORD_RATE_LIMIT": env.get("PASSWORD_RATE_LIMIT", "10 per hour"),
        "WANT_RATE_LIMIT": env.get("WANT_RATE_LIMIT", "20 per hour"),
        "PROPOSAL_RATE_LIMIT": env.get("PROPOSAL_RATE_LIMIT", "10 per hour"),
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "300 per minute"),
        # Refused tokens (API tokens, vendor links, on the API and the vendor pages) per
        # client address: each made-up token would otherwise start a budget of its own.
        "BAD_TOKEN_RATE_LIMIT": env.get("BAD_TOKEN_RATE_LIMIT", "30 per minute"),
        "SESSION_DAYS": _int(env, "SESSION_DAYS", 30),
        "CURRENCY": env.get("CURRENCY", "usd").lower(),
        "MONTHLY_FEE_CENTS": _int(env, "MONTHLY_FEE_CENTS", 500),
        "OPS_SHARE_BP": _int(env, "OPS_SHARE_BP", 1000),
        "GRACE_DAYS": _int(env, "GRACE_DAYS", 14),
        "LEADER_SHARE_BP": _int(env, "LEADER_SHARE_BP", 2000),
        # Admins may agree a deal alone up to this total commitment (monthly cost x term).
        "RATIFY_ABOVE_CENTS": _int(env, "RATIFY_ABOVE_CENTS", 100_000),
        # Decisions that move money (ratifications, reserve spending) count only if this
        # share (basis points) of the members in good standing take a position.
        "MONEY_QUORUM_BP": _int(env, "MONEY_QUORUM_BP", 2000),
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
        # none, starttls (usually port 587) or ssl (usually 465); login when a user is set.
        "SMTP_SECURITY": env.get("SMTP_SECURITY", "none").strip().lower(),
        "SMTP_USERNAME": env.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        # A private CA bundle for the SMTP server's certificate (empty: the system's).
        "SMTP_CA_FILE": env.get("SMTP_CA_FILE", ""),
        "SMTP_TIMEOUT_SECONDS": _int(env, "SMTP_TIMEOUT_SECONDS", 30),
        # A message that failed this many times is given up (shown, never retried).
        "SMTP_MAX_ATTEMPTS": _int(env, "SMTP_MAX_ATTEMPTS", 5),
        # How long a member may edit their own comment after posting it.
        "COMMENT_EDIT_MINUTES": _int(env, "COMMENT_EDIT_MINUTES", 15),
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
        # stripe (the SDK: real Stripe or localstripe) or memory (an in-memory Stripe double
        # that renews as the clock moves; one process only: simulations, tests, a demo).
        "STRIPE_BACKEND": env.get("STRIPE_BACKEND", "stripe").strip().lower(),
        # Background jobs: Redis (redis://…) or RabbitMQ (amqp://…); empty = an embedded
        # broker on instance/broker.db that needs no server.
        "CELERY_BROKER_URL": env.get("CELERY_BROKER_URL", ""),
        "CELERY_QUEUE": env.get("CELERY_QUEUE", "softcoop"),
        # How long a worker holds a run (and a round's close) before another may take it up:
        # a worker killed mid-run is replaced after this long (the drill shortens both).
        "JOB_LEASE_SECONDS": _int(env, "JOB_LEASE_SECONDS", 30 * 60),
        "CLOSE_LEASE_SECONDS": _int(env, "CLOSE_LEASE_SECONDS", 15 * 60),
        # Cookies without the Secure flag, for servers on plain-HTTP localhost (test servers).
        "INSECURE_COOKIES": _flag(env, "INSECURE_COOKIES"),
    }


def instance_secret(instance: Path | None = None) -> str:
    """This checkout's own random secret (instance/secret_key), made on first use.

    Development and the CLI in a checkout sign sessions with it, so no two checkouts share a
    key and no published key can forge a session. Two processes starting at once agree:
    the file is linked into place only if absent, and the loser reads the winner's key.
    """
    instance = INSTANCE if instance is None else instance
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        draft = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def resolve_secret(settings: dict[str, Any]) -> None:
    """Fill in SECRET_KEY where none is set: per process in tests, per checkout in debug."""
    if settings.get("SECRET_KEY"):
        return
    if settings.get("TESTING"):
        settings["SECRET_KEY"] = secrets.token_hex(32)
    elif settings.get("DEBUG"):
        settings["SECRET_KEY"] = instance_secret()


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
    if not 0 <= config.get("MONEY_QUORUM_BP", 0) <= 10_000:
        raise ConfigError("MONEY_QUORUM_BP must be between 0 and 10000 basis points")
    _validate_money(config)
    if config["GRACE_DAYS"] < 0:
        raise ConfigError("GRACE_DAYS cannot be negative")


def _validate_money(config: Mapping[str, Any]) -> None:
    """Amounts are parsed and shown through Babel: it must know the currency and locale."""
    from babel.core import Locale, UnknownLocaleError
    from babel.numbers import is_currency

    if not is_currency(str(config["CURRENCY"]).upper()):
        raise ConfigError(f"CURRENCY must be an ISO 4217 code, got {config['CURRENCY']!r}")
    try:
        Locale.parse(config["LOCALE"])
    except (UnknownLocaleError, ValueError, TypeError):
        raise ConfigError(
            f"LOCALE must be a locale such as en_US, got {config['LOCALE']!r}"
        ) from None
