"""Every table of the market package, imported in one place for Alembic and tests."""

from __future__ import annotations

from market.members.models import Member

__all__ = ["Member"]
