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


class Background(Protocol):
    """Long work run off the request (the jobs package provides it; domains only ask)."""

    phases: list[str]

    def start(self, job: str, target: int | None = None) -> int:
        """Queue a run of a job (for one target row, e.g. a round); its run id."""
        ...

    def close_progress(self, session: Any, round_id: int, status: str) -> dict[str, Any]:
        """Where a round's close job is: phase, percent, done."""
        ...

    def progress(self, session: Any, job: str, target: int) -> dict[str, Any]:
        """Where the newest run of a job for one target is: phase, percent, done, failed."""
        ...


def register_background(app: App, worker: Background) -> None:
    """Say who runs long work for this app (domains look it up with `background`)."""
    app.extensions["softcoop.background"] = worker


def background(app: App) -> Background:
    """The app's runner of long work (KeyError when no jobs package joined the app)."""
    return app.extensions["softcoop.background"]  # type: ignore[no-any-return]


class Notifier(Protocol):
    """Tell one member something (inbox and email): the notifications package provides it."""

    def __call__(
        self, session: Any, member: Any, kind: str, subject: str, body: str, link: str | None
    ) -> Any: ...


def register_notifier(app: App, notify: Notifier) -> None:
    """Say how this app tells a member something (packages below notifications use it)."""
    app.extensions["softcoop.notify"] = notify


def notifier(app: App) -> Notifier:
    """The app's way to tell a member something."""
    return app.extensions["softcoop.notify"]  # type: ignore[no-any-return]


class ProductPointer(Protocol):
    """A link another package offers a product's page: (text, url) or None."""

    def __call__(self, session: Any, product_id: int) -> tuple[str, str] | None: ...


def register_product_pointer(app: App, pointer: ProductPointer) -> None:
    """Offer product pages a link (the deals package: the group buy running for a product)."""
    app.extensions.setdefault("softcoop.product_pointers", []).append(pointer)


def product_pointers(app: App, session: Any, product_id: int) -> list[tuple[str, str]]:
    """Every link the registered packages offer this product's page."""
    found = (p(session, product_id) for p in app.extensions.get("softcoop.product_pointers", []))
    return [link for link in found if link is not None]


class Mailer(Protocol):
    """Queue one email to an address, whatever the member's preferences (account security:
    a reset link, an address to confirm). The notifications package provides it."""

    def __call__(self, session: Any, to_email: str, subject: str, body: str) -> Any: ...


def register_mailer(app: App, send: Mailer) -> None:
    """Say how this app emails an address directly (packages below notifications use it)."""
    app.extensions["softcoop.mailer"] = send


def mailer(app: App) -> Mailer:
    """The app's way to email an address directly."""
    return app.extensions["softcoop.mailer"]  # type: ignore[no-any-return]
