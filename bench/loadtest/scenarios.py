"""The traffic mix: what a simulated member does, one weighted action at a time.

Each feature contributes its actions, feeds and checks when it is installed (the seed
records what it built in the Plan), so adding a traffic kind is a module with a seed and
a step or two, wired in here.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from flask import Flask
from sqlalchemy.orm import Session

from bench.http import Recorder
from bench.loadtest import catalogue, voting, webhooks
from bench.loadtest.driver import User
from bench.loadtest.faults import FaultLog
from bench.loadtest.seed import Plan
from market.webdb import database

if TYPE_CHECKING:
    from bench.loadtest.runner import Settings

Step = Callable[[User], Awaitable[None]]
PAGES = ["/", "/profile", "/decisions/", "/inbox/"]


@dataclass(frozen=True)
class Action:
    """A kind of traffic and how often a member does it, relative to the others."""

    kind: str
    weight: float
    step: Step


async def browse(user: User, pages: list[str]) -> None:
    """Read two pages (each loads the member, most also list rows, from the database)."""
    for path in user.rng.sample(pages, 2):
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
    pages = list(PAGES)
    mix = [Action("login", 1, sign_in_again)]
    disconnects: list[Step] = [abandon_profile]
    if plan.products:
        pages += catalogue.pages(plan.products)
        mix.append(Action("claim", 4, partial(catalogue.claim_or_release, products=plan.products)))
        disconnects.append(partial(catalogue.abandon_claim, products=plan.products))
    if plan.round_id is not None:
        pages += ["/rounds/", "/rounds/my-dues"]
        mix.append(Action("ballot", 4, partial(voting.vote, state=voting.state_of(plan))))
        disconnects.append(partial(voting.abandon_vote, plan_round=plan.round_id))
    mix.append(Action("browse", 8, partial(browse, pages=pages)))
    mix.append(Action("disconnect", 0.6, partial(_one_of, steps=disconnects)))
    return mix


async def _one_of(user: User, steps: list[Step]) -> None:
    await user.rng.choice(steps)(user)


def server_env() -> dict[str, str]:
    """Settings the traffic needs from the server (the webhook signing secret)."""
    return {"STRIPE_WEBHOOK_SECRET": webhooks.SECRET, "STRIPE_API_KEY": "sk_test_loadtest"}


def feeds(
    settings: Settings,
    plan: Plan,
    base_url: str,
    rec: Recorder,
    log: FaultLog,
    extras: dict[str, str],
    rng: random.Random,
    app: Flask,
) -> list[Coroutine[Any, Any, None]]:
    """Traffic that is not a member clicking: webhooks, the burst, the admin's close."""
    jobs: list[Coroutine[Any, Any, None]] = []
    if plan.round_id is not None and settings.close_at is not None:

        def owed() -> dict[int, int]:
            with database(app).transaction() as session:
                return voting.owed_by_channel(session)

        at = settings.close_at * settings.seconds
        state = voting.state_of(plan)
        jobs.append(voting.close_and_pay(base_url, rec, plan.round_id, state, at, owed))
    if not plan.customers:
        return jobs
    events = webhooks.Events(plan.customers, random.Random(rng.random()))
    jobs.append(webhooks.feed(base_url, rec, events, settings.seconds, settings.webhook_rate))
    if settings.burst_events:
        burst = webhooks.Burst(
            settings.burst_events, settings.burst_copies, settings.burst_at * settings.seconds
        )
        jobs.append(webhooks.burst(base_url, rec, log, events, burst, extras))
    return jobs


def acknowledged(session: Session, plan: Plan, rec: Recorder) -> dict[str, list[str]]:
    """Checks that what the app confirmed during the run is in the database."""
    found: dict[str, list[str]] = {}
    if plan.customers:
        found.update(webhooks.acknowledged(session, rec))
    return found
