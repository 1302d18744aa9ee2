"""Invariants the co-op's data must always satisfy, checked by one CLI command and the tests.

Each package registers its checks (a function `session -> list of problems`) in its
`init_app`; `flask --app market check invariants` runs them all. The load test and the
suite use the same checks.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from market.plugins import App

Check = Callable[[Session], list[str]]


def register(app: App, name: str, check: Check) -> None:
    """Add a named invariant check to the app."""
    app.extensions.setdefault("softcoop.invariants", {})[name] = check


def run_all(app: App, session: Session) -> dict[str, list[str]]:
    """Every registered check's problems, by name (an empty list means it holds)."""
    checks: dict[str, Check] = app.extensions.get("softcoop.invariants", {})
    return {name: check(session) for name, check in checks.items()}
