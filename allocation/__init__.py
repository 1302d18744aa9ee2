"""Budget allocation: rules (pure), rounds, ballots, tallies, audit."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register the budget-round blueprints and CLI commands (none yet)."""
