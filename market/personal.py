"""A member's own data, from every package: one download, one erasure.

Each package registers what it holds about a member (an exporter, `session, member_id ->
JSON-able`) and what leaving means for it (an eraser, `session, member_id, now -> None`) in
its `init_app`, as it registers invariants. "Download my data" collects every exporter;
"Delete my account" runs every eraser in one transaction. The books and the published audit
files are left as they are: they hold amounts and receipts, no personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from market.plugins import App

Exporter = Callable[[Session, int], Any]
Eraser = Callable[[Session, int, datetime], None]
KEY = "softcoop.personal"


def register(app: App, name: str, export: Exporter, erase: Eraser | None = None) -> None:
    """Add a named part of a member's data (and what deleting the account does to it)."""
    app.extensions.setdefault(KEY, {})[name] = (export, erase)


def collect(app: App, session: Session, member_id: int) -> dict[str, Any]:
    """Every registered part of the member's data, by name."""
    parts: dict[str, tuple[Exporter, Eraser | None]] = app.extensions.get(KEY, {})
    return {name: export(session, member_id) for name, (export, _erase) in sorted(parts.items())}


def erase(app: App, session: Session, member_id: int, now: datetime) -> None:
    """Run every eraser (the caller's transaction makes it all or nothing)."""
    parts: dict[str, tuple[Exporter, Eraser | None]] = app.extensions.get(KEY, {})
    for _name, (_export, eraser) in sorted(parts.items()):
        if eraser is not None:
            eraser(session, member_id, now)


def stamp(value: datetime | None) -> str | None:
    """A moment as ISO 8601 text (exports are JSON)."""
    return value.isoformat() if value is not None else None
