"""`python -m bench.simulate --months 12 --members 1000 --seed 7` (see bench/simulate)."""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine

from bench.simulate.books import job_outcomes, month_row, reconcile, statuses, table
from bench.simulate.world import World
from market import create_app, migrate
from market.clock import month_start, period_of, shift_period
from market.db import make_engine


def build_app(database_url: str) -> Any:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    engine.dispose()
    return create_app(
        {
            "TESTING": True,  # an error in a webhook raises here instead of becoming a 500
            "SECRET_KEY": "simulation",
            "DATABASE_URL": database_url,
            "STRIPE_BACKEND": "memory",
            "CELERY_ALWAYS_EAGER": True,
            "CELERY_BROKER_URL": "memory://",
            "RATELIMIT_STORAGE_URI": "memory://",
            # Thousands of sign-ups: the cheapest Argon2id (each hash records its parameters).
            "PASSWORD_TIME_COST": 1,
            "PASSWORD_MEMORY_KIB": 1024,
        }
    )


def _reset_postgres(url: str) -> None:
    from sqlalchemy import text

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate", description=__doc__)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None, help="default: a random one, printed")
    parser.add_argument(
        "--database",
        default="",
        help="a SQLAlchemy URL (PostgreSQL: its public schema is emptied first); "
        "default: a fresh SQLite file",
    )
    parser.add_argument(
        "--start", default="", help="first simulated month, YYYY-MM (default: this month)"
    )
    parser.add_argument(
        "--plant-violation",
        type=int,
        default=None,
        metavar="DAY",
        help="on that day, write a paid invoice that was never booked (the checks must catch it)",
    )
    args = parser.parse_args(argv)
    if args.months < 1 or args.members < 1:
        parser.error("--months and --members must be at least 1")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    start_period = args.start or period_of(datetime.now(UTC))
    start = month_start(start_period)
    end = month_start(shift_period(start_period, args.months))
    days = (end - start).days
    shm = Path("/dev/shm")  # a file database in memory when the system has one
    where = str(shm) if shm.is_dir() else None
    with tempfile.TemporaryDirectory(prefix="softcoop-sim-", dir=where) as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'sim.db'}"
        if url.startswith("postgresql"):
            _reset_postgres(url)
        code = run(url, seed, args.members, days, start, args.plant_violation)
    return code


def run(url: str, seed: int, members: int, days: int, start: datetime, plant: int | None) -> int:
    rng = random.Random(seed)
    traveller = time_machine.travel(start, tick=False)
    clock = traveller.start()
    began = time.perf_counter()
    try:
        app = build_app(url)
        if True:  # no app context held: each action and each delivery has its own
            world = World(app, rng, members, days)
            world.setup(start)
            checks = 0
            rows = []
            at_end: dict[str, Counter[str]] = {}
            for day in range(days):
                moment = start + timedelta(days=day)
                world.run_day(day, moment, clock.move_to)
                if plant is not None and day == plant:
                    _plant(world)
                clock.move_to(moment + timedelta(hours=23, minutes=59))
                problems = world.check(moment + timedelta(hours=23, minutes=59))
                checks += world.check_count()
                if problems:
                    print(f"VIOLATION on day {day + 1} ({moment:%Y-%m-%d}), seed {seed}:")
                    for problem in problems[:20]:
                        print(f"  {problem}")
                    return 1
                if (moment + timedelta(days=1)).day == 1:  # the month's last day
                    with world.tx() as session:
                        at_end[period_of(moment)] = statuses(session)
                    spent = time.perf_counter() - began
                    print(f"simulated {period_of(moment)} ({spent:.0f} s)", file=sys.stderr)
            final = start + timedelta(days=days)
            clock.move_to(final + timedelta(seconds=30))
            world.stripe.advance()
            world.deliver()
            world.tick(final + timedelta(seconds=30))
            clock.move_to(final + timedelta(hours=1))
            world.tick(final + timedelta(hours=1))  # the next round opens after the close
            with world.tx() as session:
                period = period_of(start)
                while period < period_of(final):
                    rows.append(month_row(session, period, at_end.get(period, Counter())))
                    period = shift_period(period, 1)
                problems = reconcile(session, final + timedelta(hours=1), world.currency)
                jobs = job_outcomes(session)
            problems += world.check(final + timedelta(hours=1))
            checks += world.check_count() + 4
            elapsed = time.perf_counter() - began
            print(table(rows))
            print()
            done = ", ".join(f"{k} {v}" for k, v in sorted(world.stats.actions.items()))
            refused = ", ".join(f"{k} {v}" for k, v in sorted(world.stats.refused.items()))
            print(f"actions: {done}")
            print(f"refused (told why, nothing changed): {refused or 'none'}")
            split = ", ".join(
                f"{k} {v:.1f} s"
                for k, v in sorted(world.stats.seconds.items(), key=lambda kv: -kv[1])
            )
            print(f"time: {split}")
            print(f"job runs: {jobs}")
            print(f"webhook deliveries: {world.stats.deliveries}; "
                  f"{elapsed:.1f} s, {elapsed / days:.3f} s per simulated day")  # fmt: skip
            if problems:
                print(f"VIOLATION at the end ({final:%Y-%m-%d}), seed {seed}:")
                for problem in problems[:20]:
                    print(f"  {problem}")
                return 1
            print(f"simulation: {days} days, {checks} invariant checks, 0 violations, seed {seed}")
            return 0
    finally:
        traveller.stop()


def _plant(world: World) -> None:
    """A paid invoice nobody booked: the kind of row a bug would leave."""
    from market.billing.models import DuesInvoice
    from market.clock import utcnow

    with world.tx() as session:
        from sqlalchemy import select

        from market.members.models import Member

        member_id = session.scalar(select(Member.id).order_by(Member.id.desc()).limit(1))
        now = utcnow()
        session.add(
            DuesInvoice(
                id="in_planted",
                member_id=member_id,
                amount_cents=500,
                currency=world.currency,
                month=period_of(now),
                status="paid",
                paid_at=now,
                created_at=now,
            )
        )


if __name__ == "__main__":
    sys.exit(main())
