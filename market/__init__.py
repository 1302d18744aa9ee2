"""softcoop, a software users' co-op. `flask --app market` finds the app factory here.

Importing `market` (or its kernel: db, money, errors, clock) loads no Flask: the factory is
imported on first use of `market.create_app`, so pure code and scripts stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from market.factory import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """Load the app factory lazily (Flask and every domain come with it)."""
    if name == "create_app":
        from market.factory import create_app

        return create_app
    raise AttributeError(f"module 'market' has no attribute {name!r}")
