"""The plug-in registries' common ground: what a package may register on the app it joins.

Domains plug into the app shell through the kernel's registries (nav links in `market.nav`,
home cards in `market.home`, invariants in `market.invariants`, CLI groups here) rather than
by importing the shell. The registries store what they are given in `app.extensions`, so
they need no Flask: anything shaped like a Flask app will do.
"""

from __future__ import annotations

from typing import Any, Protocol


class CommandGroup(Protocol):
    """What a CLI group registry needs of the app's command group (Flask's `app.cli`)."""

    def add_command(self, cmd: Any, name: str | None = None) -> None: ...


class App(Protocol):
    """The part of a Flask app the registries use."""

    extensions: dict[str, Any]

    @property
    def cli(self) -> CommandGroup: ...


def register_cli(app: App, group: Any) -> None:
    """Add a `flask --app market <group> …` command group."""
    app.cli.add_command(group)
