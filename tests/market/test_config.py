from __future__ import annotations

import pytest

from market import create_app
from market.config import ConfigError, from_env


def test_refuses_to_start_without_secret_key_in_production() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app({"SECRET_KEY": None, "DEBUG": False, "TESTING": False})


def test_debug_runs_without_secret_key_and_without_secure_cookies() -> None:
    app = create_app({"SECRET_KEY": None, "DEBUG": True, "DATABASE_URL": "sqlite://"})
    assert app.config["SECRET_KEY"]
    assert app.config["SESSION_COOKIE_SECURE"] is False


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
