"""The member's home page registry: one short card per part of the co-op, each from its package.

Packages register a card function `(session, member) -> HomeCard | None` in their init_app;
the home page shows the cards in registration order. Each function makes a query or two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from market.plugins import App


@dataclass(frozen=True)
class HomeCard:
    """What the member should know about one part of the co-op, and where to act on it."""

    title: str
    text: str
    link_label: str
    url: str
    urgent: bool = False


# The member is a market.members Member; the kernel names no domain, so it is Any here.
CardFunction = Callable[[Session, Any], HomeCard | None]


def register_card(app: App, card: CardFunction) -> None:
    """Add a card to every member's home page."""
    app.extensions.setdefault("softcoop.home_cards", []).append(card)


def cards_for(app: App, session: Session, member: Any) -> list[HomeCard]:
    """The cards this member sees now."""
    found = (card(session, member) for card in app.extensions.get("softcoop.home_cards", []))
    return [card for card in found if card is not None]
