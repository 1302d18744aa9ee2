from __future__ import annotations

from pathlib import Path

import pytest

from market import config, create_app
from market.config import ConfigError, from_env


def test_refuses_to_start_without_secret_key_in_production() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app({"SECRET_KEY": None, "DEBUG": False, "TESTING": False})


def test_debug_runs_without_secret_key_and_without_secure_cookies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "INSTANCE", tmp_path)
    app = create_app({"SECRET_KEY": None, "DEBUG": True, "DATABASE_URL": "sqlite://"})
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_each_checkout_signs_with_its_own_random_secret(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    key = config.instance_secret(first)
    assert len(key) == 64 and key != config.instance_secret(second)
    assert config.instance_secret(first) == key  # kept: sessions survive a restart
    assert (first / "secret_key").stat().st_mode & 0o077 == 0  # readable by its owner only
    assert sorted(p.name for p in first.iterdir()) == ["secret_key"]


def test_test_apps_without_a_key_get_a_random_one() -> None:
    one = create_app({"SECRET_KEY": None, "TESTING": True, "DATABASE_URL": "sqlite://"})
    two = create_app({"SECRET_KEY": None, "TESTING": True, "DATABASE_URL": "sqlite://"})
    assert one.config["SECRET_KEY"] != two.config["SECRET_KEY"]


def test_production_cookies_are_secure() -> None:
    app = create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_settings_come_from_environment() -> None:
    cfg = from_env({"MONTHLY_FEE_CENTS": "700", "CURRENCY": "EUR", "DATABASE_URL": "sqlite://"})
    assert cfg["MONTHLY_FEE_CENTS"] == 700
    assert cfg["CURRENCY"] == "eur"
    assert cfg["OPS_SHARE_BP"] == 1000
    with pytest.raises(ConfigError, match="MONTHLY_FEE_CENTS"):
        from_env({"MONTHLY_FEE_CENTS": "five"})


def test_insecure_cookies_only_when_asked_for_in_the_environment() -> None:
    assert from_env({"INSECURE_COOKIES": "1"})["INSECURE_COOKIES"] is True
    assert from_env({})["INSECURE_COOKIES"] is False


def test_the_suite_ignores_the_developers_settings() -> None:
    from tests.support import scrub_environment

    environ = {"FLASK_DEBUG": "1", "FLASK_APP": "x", "SECRET_KEY": "s", "DATABASE_URL": "d",
               "STRIPE_API_KEY": "sk_live", "PATH": "/bin", "TEST_DATABASE_URL": "t"}  # fmt: skip
    names = scrub_environment(environ)
    assert names == ["DATABASE_URL", "FLASK_APP", "FLASK_DEBUG", "SECRET_KEY", "STRIPE_API_KEY"]
    assert environ == {"PATH": "/bin", "TEST_DATABASE_URL": "t"}


def test_rate_limits_can_live_in_redis() -> None:
    """The README's RATELIMIT_STORAGE_URI=redis://… needs the redis client installed."""
    app = create_app(
        {
            "SECRET_KEY": "x" * 32,
            "DATABASE_URL": "sqlite://",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
        }  # fmt: skip
    )
    assert app.config["RATELIMIT_STORAGE_URI"].startswith("redis://")
