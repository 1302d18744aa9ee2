"""The co-op's shelf: channels, vendors, products, licence inventory and claims."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the catalogue's blueprints and CLI commands (none yet)."""
