"""The cluster drill: the whole production shape on one machine, driven and broken on purpose.

haproxy in front of several app hosts (each its own gunicorn on its own port), pgbouncer in
front of a private PostgreSQL primary, a streaming replica for the stale-tolerant pages, a
private Redis for rate limits; the load test's members and webhooks go through the balancer
while the drill kills a whole host and brings it back, restarts Redis and stops the replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.drill.services import Haproxy, Pgbouncer, Redis, Replica
from bench.http import Recorder
from bench.loadtest import scenarios
from bench.loadtest.cluster import PrivatePostgres
from bench.loadtest.driver import User
from bench.loadtest.faults import FaultLog, Window
from bench.loadtest.report import Report
from bench.loadtest.runner import Settings, app_env, check, member_loop
from bench.loadtest.seed import PASSWORD, seed
from bench.loadtest.server import Gunicorn
from bench.serving import free_port
from market import create_app, migrate
from market.db import make_engine


@dataclass
class Drill:
    """Knobs of a drill run."""

    seconds: float = 180.0
    hosts: int = 3
    workers: int = 2  # per host
    threads: int = 4  # per worker: a health check never waits behind a slow request
    users: int = 30
    members: int = 300
    think_s: float = 0.3
    fault_window_s: float = 3.0
    host_down_s: float = 5.0
    seed: int = 7


@dataclass
class Faults:
    """What the drill broke and how long each took to heal."""

    recoveries: dict[str, float] = field(default_factory=dict)


@dataclass
class Cluster:
    """Every process of the drill, started in order and removed in reverse."""

    primary: PrivatePostgres
    replica: Replica
    bouncer: Pgbouncer
    redis: Redis
    hosts: list[Gunicorn]
    balancer: Haproxy | None

    def remove(self) -> None:
        """Stop everything started so far (errors while stopping are not the drill's result)."""
        steps = [self.balancer.remove] if self.balancer else []
        steps += [h.stop for h in self.hosts]
        steps += [self.redis.remove, self.bouncer.remove, self.replica.remove, self.primary.remove]
        for step in steps:
            with contextlib.suppress(Exception):
                step()


def _settings(d: Drill) -> Settings:
    """The load test's settings for the traffic the drill sends (its own faults are off)."""
    return Settings(seconds=d.seconds, users=d.users, members=d.members, think_s=d.think_s,
                    kill_every_s=0, restart_db=False, burst_events=200, burst_copies=3,
                    burst_at=0.15, close_at=0.8, seed=d.seed)  # fmt: skip


def start(d: Drill) -> tuple[Cluster, dict[str, str], str]:
    """Bring the cluster up; the app hosts' environment and the primary's direct URL."""
    primary = PrivatePostgres()
    replica, bouncer, redis = Replica(primary), Pgbouncer(primary), Redis()
    half = Cluster(primary, replica, bouncer, redis, [], None)
    try:
        direct = primary.start()
        engine = make_engine(direct)
        migrate.upgrade(engine)
        engine.dispose()
        replica.start()
        bouncer.start()
        redis.start()
    except BaseException:
        half.remove()
        raise
    env = {
        **app_env(bouncer.url),
        "DATABASE_REPLICA_URL": replica.url,
        "REDIS_URL": redis.url,
        "RATELIMIT_STORAGE_URI": redis.url,
        "TRUSTED_PROXIES": "1",
    }
    half.hosts = [Gunicorn(free_port(), env, d.workers, threads=d.threads) for _ in range(d.hosts)]
    try:
        for host in half.hosts:
            host.start()
        half.balancer = Haproxy([h.port for h in half.hosts])
        half.balancer.start()
    except BaseException:
        half.remove()
        raise
    return half, env, direct


def _kill_host(host: Gunicorn) -> None:
    """SIGKILL the master and its workers: the whole host is gone at once.

    The master is frozen first, so it cannot fork a replacement worker (which would keep the
    port) between the workers' deaths and its own.
    """
    if host.proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(host.proc.pid, signal.SIGSTOP)
    for pid in [*host.worker_pids(), host.proc.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    host.proc.wait()


async def _fault(
    rec: Recorder, log: FaultLog, faults: Faults, name: str, at: float, window: float,
    action: Callable[[], float | None], probe: Callable[[], Awaitable[bool]] | None = None,
) -> None:  # fmt: skip
    """At `at` s run `action` (blocking, in a thread); record a window until it healed."""
    await asyncio.sleep(at)
    began = rec.now()
    await asyncio.get_running_loop().run_in_executor(None, action)
    if probe is not None:
        while rec.now() - began < 60 and not await probe():
            await asyncio.sleep(0.1)
    healed = rec.now() - began
    faults.recoveries[name] = healed
    log.windows.append(Window("restart", began, began + healed + window, name))


async def drive(d: Drill, cluster: Cluster, app_plan: tuple, rec: Recorder, log: FaultLog,
                faults: Faults) -> dict[str, str]:  # fmt: skip
    """Members and webhooks through the balancer while the faults happen."""
    app, plan = app_plan
    settings = _settings(d)
    rng = random.Random(d.seed)
    assert cluster.balancer is not None
    url = cluster.balancer.url
    mix = scenarios.actions(plan)
    users = [User(url, rec, random.Random(rng.random()), email, PASSWORD)
             for email in plan.emails[: d.users]]  # fmt: skip
    rec.samples.clear()
    rec.t0 = time.monotonic()
    extras: dict[str, str] = {}
    victim = cluster.hosts[0]

    def host_down_and_back() -> None:
        _kill_host(victim)
        time.sleep(d.host_down_s)
        victim.start(timeout=120)  # a loaded 2-core machine takes its time

    def replica_stop_and_back() -> None:
        cluster.replica.stop()
        time.sleep(d.host_down_s)
        cluster.replica.resume()

    w, s = d.fault_window_s, d.seconds
    jobs = [member_loop(u, mix, s, d.think_s) for u in users]
    jobs += [
        _fault(rec, log, faults, "app host killed and restarted", 0.2 * s, w, host_down_and_back),
        _fault(rec, log, faults, "Redis restarted", 0.4 * s, w, cluster.redis.restart),
        _fault(rec, log, faults, "replica stopped and resumed", 0.55 * s, w,
               replica_stop_and_back),
    ]  # fmt: skip
    jobs += scenarios.feeds(settings, plan, url, rec, log, extras, rng, app)
    try:
        await asyncio.gather(*jobs)
    finally:
        for u in users:
            await u.close()
    return extras


def run(d: Drill) -> tuple[Report, Faults]:
    """Start the cluster, drive it through the faults, check every invariant, clean up."""
    cluster, env, direct = start(d)
    try:
        app = create_app({**env, "DATABASE_URL": direct, "DATABASE_REPLICA_URL": ""})
        plan = seed(app, d.members)
        rec, log, faults = Recorder(), FaultLog(), Faults()
        with ThreadPoolExecutor(1) as pool:
            extras = pool.submit(
                asyncio.run, drive(d, cluster, (app, plan), rec, log, faults)
            ).result()
        found = check(app, plan, rec)
        return Report(d.seconds, rec, log, found, extras), faults
    finally:
        cluster.remove()
