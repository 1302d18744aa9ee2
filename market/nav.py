"""The navigation registry: each package adds its links; the shell renders them.

'all' and 'member' links go in the main nav (by order), 'admin' ones on the admin home page.
"""

from __future__ import annotations

from typing import NamedTuple

from market.plugins import App

AUDIENCES = {"all", "member", "admin"}


class NavLink(NamedTuple):
    """One registered link."""

    order: int
    label: str
    endpoint: str
    audience: str
    hint: str


def register_nav(
    app: App, label: str, endpoint: str, audience: str = "all", order: int = 50, hint: str = ""
) -> None:
    """Add a link: 'all'/'member' ones to the main nav (by order), 'admin' ones to /admin/."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown nav audience {audience!r}")
    links: list[NavLink] = app.extensions.setdefault("softcoop.nav", [])
    links.append(NavLink(order, label, endpoint, audience, hint))
    links.sort(key=lambda link: link.order)


def nav_links(app: App) -> list[NavLink]:
    """Every registered link, in nav order."""
    return list(app.extensions.get("softcoop.nav", []))
