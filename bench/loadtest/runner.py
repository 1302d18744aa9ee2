"""One load run from start to finish: database, seed, server, traffic + faults, checks."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from bench.http import Recorder
from bench.loadtest import scenarios
from bench.loadtest.cluster import PrivatePostgres
from bench.loadtest.driver import RequestFailed, User
from bench.loadtest.faults import FaultLog, kill_workers, restart_database
from bench.loadtest.report import Report
from bench.loadtest.seed import PASSWORD, Plan, seed
from bench.loadtest.server import Gunicorn
from bench.serving import free_port
from market import create_app, invariants, migrate
from market.db import make_engine
from market.webdb import database

SEED = 2026  # a seed, not a year: the same members and splits on every run


@dataclass
class Settings:
    """Knobs of a run; the defaults are the documented 5-minute run's."""

    seconds: float = 300.0
    users: int = 40  # concurrent simulated members
    members: int = 400
    think_s: float = 0.3  # mean pause between one member's actions
    workers: int = 4
    kill_every_s: float = 30.0
    fault_window_s: float = 2.0  # errors this long after a kill are the kill's
    restart_db: bool = True  # needs the private cluster
    restart_at: float = 0.6  # fraction of the run
    burst_events: int = 1000
    burst_copies: int = 5
    burst_at: float = 0.25  # fraction of the run
    close_at: float | None = 0.8  # fraction of the run: an admin closes, then pays (None: no)
    webhook_rate: float = 5.0  # steady events per second (each delivered 1-3 times)
    database_url: str | None = None  # an existing empty database instead of a private cluster
    seed: int = SEED
    log: Path | None = None  # gunicorn's output


def app_env(database_url: str) -> dict[str, str]:
    """Settings of the app under test (server and checker alike)."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(16),
        "FLASK_DEBUG": "0",
        "INSECURE_COOKIES": "1",  # plain HTTP on localhost
        "PASSWORD_TIME_COST": "1",
        "PASSWORD_MEMORY_KIB": "8192",
        # Memory storage is per worker; the run's 40 members share one address, so the
        # login throttle is lifted rather than shared (the redis client is not installed).
        "LOGIN_RATE_LIMIT": "1000000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        **scenarios.server_env(),
    }


def run(settings: Settings) -> Report:
    """Run the whole thing and return its report (the private cluster is removed after)."""
    cluster = None if settings.database_url else PrivatePostgres()
    try:
        url = settings.database_url or cluster.start()  # type: ignore[union-attr]
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        env = app_env(url)
        app = create_app(env)
        plan = seed(app, settings.members)
        server = Gunicorn(free_port(), env, settings.workers, settings.log)
        server.start()
        rec, log = Recorder(), FaultLog()
        try:
            # A thread of its own: the caller may already run an event loop (pytest with
            # Playwright's sync API does), and asyncio.run refuses to nest.
            with ThreadPoolExecutor(1) as pool:
                extras = pool.submit(
                    asyncio.run, drive(settings, app, plan, server, cluster, rec, log)
                ).result()
        finally:
            server.stop()
        found = check(app, plan, rec)
        return Report(settings.seconds, rec, log, found, extras)
    finally:
        if cluster is not None:
            cluster.remove()


def check(app: Flask, plan: Plan, rec: Recorder) -> dict[str, list[str]]:
    """Every registered invariant, plus: nothing the app acknowledged went missing."""
    with database(app).transaction() as session:
        found = invariants.run_all(app, session)
        found.update(scenarios.acknowledged(session, plan, rec))
    database(app).engine.dispose()
    return found


async def drive(
    settings: Settings,
    app: Flask,
    plan: Plan,
    server: Gunicorn,
    cluster: PrivatePostgres | None,
    rec: Recorder,
    log: FaultLog,
) -> dict[str, str]:
    """Members, webhooks and faults, all at once, for `settings.seconds`."""
    rng = random.Random(settings.seed)
    mix = scenarios.actions(plan)
    stop = settings.seconds
    users = [
        User(server.url, rec, random.Random(rng.random()), email, PASSWORD)
        for email in plan.emails[: settings.users]
    ]
    probe = User(server.url, rec, rng, plan.emails[-1], PASSWORD)
    await probe.log_in("setup")
    rec.samples.clear()
    rec.t0 = time.monotonic()  # the clock starts once set-up is done
    extras: dict[str, str] = {}
    jobs = [member_loop(u, mix, stop, settings.think_s) for u in users]
    if settings.kill_every_s > 0:
        jobs.append(
            kill_workers(server, rec, log, settings.kill_every_s, settings.fault_window_s, stop)
        )
    if cluster is not None and settings.restart_db:
        at = settings.restart_at * stop
        jobs.append(restart_database(cluster, probe.http, rec, log, at, settings.fault_window_s))
    jobs += scenarios.feeds(settings, plan, server.url, rec, log, extras, rng, app)
    try:
        await asyncio.gather(*jobs)
    finally:
        for u in [*users, probe]:
            await u.close()
    return extras


async def member_loop(user: User, mix: list[scenarios.Action], stop: float, think: float) -> None:
    """Sign in, then pick weighted actions with pauses until the run ends."""
    weights = [a.weight for a in mix]
    await _signed_in(user, stop)
    while user.recorder.now() < stop:
        action = user.rng.choices(mix, weights)[0]
        try:
            await action.step(user)
        except RequestFailed:
            # Already counted. A failure may have left the member signed out or without
            # a token (a killed worker mid-login): start over as a person would.
            await _signed_in(user, stop)
        await asyncio.sleep(user.rng.expovariate(1 / think))


async def _signed_in(user: User, stop: float) -> None:
    while user.recorder.now() < stop:
        try:
            await user.log_in()
            return
        except RequestFailed:
            await asyncio.sleep(0.5)
