"""The cluster drill: the whole production shape on one machine, driven and broken on purpose.

haproxy in front of several app hosts (each its own gunicorn on its own port), pgbouncer in
front of a private PostgreSQL primary, a streaming replica for the stale-tolerant pages, a
private Redis for rate limits and as the jobs' broker, two Celery workers and the scheduler;
the load test's members and webhooks go through the balancer while the drill kills a whole
host and brings it back, restarts Redis, stops the replica, and kills the worker running the
round's close in the middle of it (bench/drill/jobs.py).
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

from bench.drill import jobs
from bench.drill.jobs import CloseFault, Process
from bench.drill.services import Haproxy, Pgbouncer, Redis, Replica
from bench.http import Recorder
from bench.loadtest import scenarios, voting
from bench.loadtest.cluster import PrivatePostgres
from bench.loadtest.driver import RequestFailed, User
from bench.loadtest.faults import FaultLog, Window
from bench.loadtest.report import Report
from bench.loadtest.runner import Settings, app_env, check, member_loop
from bench.loadtest.seed import PASSWORD, seed
from bench.loadtest.server import Gunicorn
from bench.serving import free_port
from market import create_app, migrate
from market.db import make_engine
from market.webdb import database


@dataclass
class Drill:
    """Knobs of a drill run."""

    seconds: float = 180.0
    hosts: int = 3
    workers: int = 2  # per host
    threads: int = 4  # per worker: a health check never waits behind a slow request
    users: int = 16
    members: int = 300
    think_s: float = 0.5
    fault_window_s: float = 3.0
    host_down_s: float = 5.0
    seed: int = 7
    faults: tuple[str, ...] = ("host", "redis", "replica", "close")
    # Fractions of the run at which each fault starts.
    at: tuple[float, float, float, float] = (0.15, 0.35, 0.5, 0.65)


@dataclass
class Faults:
    """What the drill broke and how long each took to heal."""

    recoveries: dict[str, float] = field(default_factory=dict)
    close: CloseFault | None = None


@dataclass
class Cluster:
    """Every process of the drill, started in order and removed in reverse."""

    primary: PrivatePostgres
    replica: Replica
    bouncer: Pgbouncer
    redis: Redis
    hosts: list[Gunicorn]
    balancer: Haproxy | None
    workers: list[Process] = field(default_factory=list)
    scheduler: Process | None = None

    def remove(self) -> None:
        """Stop everything started so far (errors while stopping are not the drill's result)."""
        steps = [self.balancer.remove] if self.balancer else []
        steps += [p.remove for p in [*self.workers, *([self.scheduler] if self.scheduler else [])]]
        steps += [h.stop for h in self.hosts]
        steps += [self.redis.remove, self.bouncer.remove, self.replica.remove, self.primary.remove]
        for step in steps:
            with contextlib.suppress(Exception):
                step()


def _settings(d: Drill) -> Settings:
    """The load test's settings for the traffic the drill sends (its own faults are off)."""
    return Settings(seconds=d.seconds, users=d.users, members=d.members, think_s=d.think_s,
                    kill_every_s=0, restart_db=False, burst_events=200, burst_copies=3,
                    burst_at=0.08, close_at=None, seed=d.seed)  # fmt: skip


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
        # The jobs' broker: the same private Redis, its own database number.
        **jobs.jobs_env(redis.url.rsplit("/", 1)[0] + "/1"),
    }
    half.hosts = [Gunicorn(free_port(), env, d.workers, threads=d.threads) for _ in range(d.hosts)]
    try:
        for host in half.hosts:
            host.start()
        half.balancer = Haproxy([h.port for h in half.hosts])
        half.balancer.start()
        half.workers = [jobs.worker(f"worker{i + 1}", env) for i in range(2)]
        half.scheduler = jobs.scheduler(env)
        for proc in [*half.workers, half.scheduler]:
            proc.start()
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
    at = dict(zip(("host", "redis", "replica", "close"), d.at, strict=True))
    tasks = [member_loop(u, mix, s, d.think_s) for u in users]
    if "host" in d.faults:
        tasks.append(_fault(rec, log, faults, "app host killed and restarted", at["host"] * s, w,
                            host_down_and_back))  # fmt: skip
    if "redis" in d.faults:
        tasks.append(_fault(rec, log, faults, "Redis restarted", at["redis"] * s, w,
                            cluster.redis.restart))  # fmt: skip
    if "replica" in d.faults:
        tasks.append(_fault(rec, log, faults, "replica stopped and resumed", at["replica"] * s,
                            w, replica_stop_and_back))  # fmt: skip
    if "close" in d.faults and plan.round_id is not None:
        tasks.append(_close_fault(d, cluster, (app, plan), rec, log, faults, at["close"] * s))
    tasks += scenarios.feeds(settings, plan, url, rec, log, extras, rng, app)
    try:
        await asyncio.gather(*tasks)
    finally:
        for u in users:
            await u.close()
    return extras


async def _close_fault(d: Drill, cluster: Cluster, app_plan: tuple, rec: Recorder,
                       log: FaultLog, faults: Faults, at: float) -> None:  # fmt: skip
    """An admin closes the round (a job on the workers); its worker is killed mid-close.

    Then, as in the load test, three payouts per channel race for 60 % of what the channel
    is owed: at most one of each may be booked (the invariants say).
    """
    app, plan = app_plan
    await asyncio.sleep(at)
    assert cluster.balancer is not None and plan.round_id is not None
    loop = asyncio.get_running_loop()
    result = faults.close = CloseFault()
    direct = app.config["DATABASE_URL"]
    began = rec.now()
    lock = await loop.run_in_executor(None, jobs.hold_booking, direct, plan.round_id)
    admin = User(cluster.balancer.url, rec, random.Random(7), voting.ADMIN_EMAIL, PASSWORD)
    try:
        await admin.log_in("admin")
        voting.state_of(plan).closing_since = rec.now()
        await admin.form("admin", f"/admin/rounds/{plan.round_id}/close", {"confirm": "early"})
        await loop.run_in_executor(None, jobs.kill_mid_close, cluster.workers, direct,
                                   plan.round_id, lock, result, 90.0)  # fmt: skip
        if result.resumed_s is not None:
            faults.recoveries["worker killed mid-close (kill -> published)"] = result.resumed_s
        log.windows.append(Window("restart", began, rec.now() + d.fault_window_s, "close"))
        await admin.request("admin", "GET", "/admin/payouts/")

        def owed() -> dict[int, int]:
            with database(app).transaction() as session:
                return voting.owed_by_channel(session)

        due = await loop.run_in_executor(None, owed)
        races = [voting._payout(admin, c, cents * 6 // 10, f"DRILL-{c}-{n}")
                 for c, cents in due.items() if cents > 1 for n in range(3)]  # fmt: skip
        await asyncio.gather(*races)
    except RequestFailed:
        result.notes.append("the admin's close request failed (see the report)")
    finally:
        jobs.release(lock)
        await admin.close()
        # The figures as the ledger has them at the end (a late duplicate would show here).
        result.status, result.bookings, result.attempts = await loop.run_in_executor(
            None, jobs.ledger_state, direct, plan.round_id
        )
        result.runs = await loop.run_in_executor(None, jobs.close_runs, direct)


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


@dataclass
class Verdict:
    """The drill's printed result and whether it passed."""

    text: str
    passed: bool
    requests: int
    errors_outside: int
    lost: int
    duplicated: int


def judge(report: Report, faults: Faults) -> Verdict:
    """The report, each fault's recovery, the close's ledger figures, every invariant, and
    last `drill: <n> requests, <e> errors outside faults, lost <l>, duplicated <d>`."""
    lines = [report.render()]
    for name, seconds in faults.recoveries.items():
        lines.append(f"fault: {name}: healed in {seconds:.2f} s")
    problems = [p for found in report.invariants.values() for p in found]
    lost = sum("is not stored" in p or "booked 0 times" in p for p in problems)
    duplicated = sum(" booked " in p and "booked 0 times" not in p for p in problems)
    close_ok = True
    if faults.close is not None:
        c = faults.close
        resumed = f"{c.resumed_s:.2f} s" if c.resumed_s is not None else "never"
        lines.append(
            f"fault: worker killed mid-close: {c.killed or 'nobody'} killed after holding the "
            f"booking {c.held_s:.2f} s; published {resumed} after the kill; round {c.status}, "
            f"{c.attempts} close attempts, publication booked {c.bookings} time(s)"
        )
        lines += [f"fault: worker killed mid-close: {note}" for note in c.runs + c.notes]
        lost += c.lost()
        duplicated += c.duplicated()
        close_ok = not c.notes and c.attempts >= 2
    for name, found in sorted(report.invariants.items()):
        lines.append(f"invariant: {name}: " + ("ok" if not found else "; ".join(found[:5])))
    one, five, fifteen = os.getloadavg()
    lines.append(f"machine: {os.cpu_count()} cores, load average {one:.1f} {five:.1f} "
                 f"{fifteen:.1f} at the end (other people's work included)")  # fmt: skip
    _inside, outside = report.split()
    errors = sum(not s.ok for s in outside)
    lines.append(f"drill: {len(report.rec.samples)} requests, {errors} errors outside faults, "
                 f"lost {lost}, duplicated {duplicated}")  # fmt: skip
    passed = report.passed and lost == duplicated == 0 and close_ok
    return Verdict("\n".join(lines), passed, len(report.rec.samples), errors, lost, duplicated)
