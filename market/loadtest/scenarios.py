"""The traffic mix: what a simulated member does, one weighted action at a time.

Each feature contributes actions when its pages exist (the seed says so in the Plan), so
adding a traffic kind is one function and one line in `actions()`.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from market.loadtest.driver import Recorder, User
from market.loadtest.faults import FaultLog
from market.loadtest.seed import Plan

if TYPE_CHECKING:
    from market.loadtest.runner import Settings

Step = Callable[[User], Awaitable[None]]


@dataclass(frozen=True)
class Action:
    """A kind of traffic and how often a member does it, relative to the others."""

    kind: str
    weight: float
    step: Step


BROWSE = ["/", "/profile", "/decisions/", "/inbox/"]


async def browse(user: User) -> None:
    """Read two pages (each loads the member, most also list rows, from the database)."""
    for path in user.rng.sample(BROWSE, 2):
        await user.request("browse", "GET", path)


async def sign_in_again(user: User) -> None:
    """Log out and back in (a fresh session, the password checked)."""
    await user.form("login", "/logout", {})
    await user.log_in()


async def abandon_profile(user: User) -> None:
    """Walk away from a profile save mid-request: the row is either saved or untouched."""
    await user.abandon("POST", "/profile", {"email": user.email, "display_name": "Gone"})


def actions(plan: Plan) -> list[Action]:
    """The weighted mix for what this run's database holds."""
    mix = [
        Action("browse", 10, browse),
        Action("login", 1, sign_in_again),
    ]
    disconnects: list[Step] = [abandon_profile]
    mix.append(Action("disconnect", 0.6, _one_of(disconnects)))
    return mix


def _one_of(steps: list[Step]) -> Step:
    async def pick(user: User) -> None:
        await user.rng.choice(steps)(user)

    return pick


def server_env() -> dict[str, str]:
    """Settings the traffic needs from the server (e.g. the webhook signing secret)."""
    return {}


def feeds(
    settings: Settings,
    plan: Plan,
    base_url: str,
    rec: Recorder,
    log: FaultLog,
    extras: dict[str, str],
    rng: random.Random,
) -> list[Coroutine[Any, Any, None]]:
    """Traffic that is not a member clicking: webhook deliveries, the webhook burst."""
    return []


def acknowledged(session: Session, plan: Plan, rec: Recorder) -> dict[str, list[str]]:
    """Checks that what the app confirmed during the run is in the database."""
    return {}
