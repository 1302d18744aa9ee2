"""The simulated co-op: its app, its people, its Stripe double, and how a day goes (the
schedule ticks, Stripe renews and delivers, admins and members act: `admins.py`,
`people.py`; then every invariant is checked).

Every action goes through the service the page calls, in a session of its own that is
committed when the action succeeds and rolled back when it is refused (as a request is).
Refusals (a DomainError) are counted, not fatal: a member clicking "claim" on a sold-out
product is told so, and that is part of the simulation.
"""

from __future__ import annotations

import contextlib
import io
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy.orm import Session

from allocation import rounds
from bench.simulate import admins, people
from bench.simulate.people import PASSWORD, Person
from catalog.demo import ADMIN_EMAIL, chapter_catalog
from market.billing import services
from market.billing.gateway import gateway
from market.billing.memory import MemoryStripe
from market.clock import period_of
from market.errors import DomainError
from market.invariants import run_all
from market.jobs.schedule import tick
from market.members import services as members
from market.members.models import Member
from market.webdb import database

# Moments of each simulated day when the schedule ticks (just after midnight, when
# rounds close and open, and at noon); members and admins act at noon, before its tick.
TICKS = (timedelta(seconds=30), timedelta(hours=12))
ACTING = (1,)


@dataclass
class Stats:
    actions: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    deliveries: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    webhook_errors: list[str] = field(default_factory=list)


class World:
    """One simulated co-op."""

    def __init__(self, app: Flask, rng: random.Random, members_target: int, days: int) -> None:
        self.app = app
        self.db = database(app)
        self.rng = rng
        self.days = days
        gw = gateway(app)
        assert isinstance(gw, MemoryStripe), "the simulation needs STRIPE_BACKEND=memory"
        self.stripe = gw
        with app.app_context():
            self.cfg = services.settings()
        self.stats = Stats()
        self.people = [
            Person(i, self._join_day(days), loyalty=rng.random()) for i in range(members_target)
        ]
        self.admin_id = 0
        self.currency = app.config["CURRENCY"]

    def _join_day(self, days: int) -> int:
        # Half the members join in the first week; the rest over the run.
        if self.rng.random() < 0.5:
            return self.rng.randrange(min(7, days))
        return self.rng.randrange(days)

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """A transaction in an app context of its own (setup, reads, the admins' chores)."""
        with self.app.app_context(), self.db.transaction() as session:
            yield session

    @contextmanager
    def request(self, what: str) -> Iterator[Session | None]:
        """A session like a request's: committed on success, rolled back when refused."""
        session = self.db.writer()
        try:
            with self.app.app_context():  # its own, as a request has (never shared with one)
                yield session
            session.commit()
            self.stats.actions[what] += 1
        except DomainError:
            session.rollback()
            self.stats.refused[what] += 1
        finally:
            session.close()

    @contextmanager
    def timed(self, what: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - started
            self.stats.seconds[what] = self.stats.seconds.get(what, 0.0) + spent

    def deliver(self) -> None:
        """Stripe delivers what it queued: shuffled, a few twice."""
        with self.timed("webhooks"):
            self._deliver()

    def _deliver(self) -> None:
        for answer in self.stripe.deliver(rng=self.rng, duplicate=0.03):
            self.stats.deliveries += 1
            if not 200 <= answer.status < 300:
                self.stats.webhook_errors.append(
                    f"{answer.type} {answer.event_id}: {answer.status}"
                )

    def tick(self, now: datetime) -> None:
        """The real schedule's tick at `now`; its runs execute in-process (eager)."""
        with self.timed("schedule"), contextlib.redirect_stdout(io.StringIO()):
            tick(self.app, now)  # (emails print without SMTP_HOST: kept off the table)

    def admin(self, session: Session) -> Member:
        admin = session.get(Member, self.admin_id)
        assert admin is not None
        return admin

    # ------------------------------------------------------------------ setup

    def setup(self, now: datetime) -> None:
        """The co-op on its first day: an admin, the catalogue, the first round."""
        with self.tx() as session:
            admin = members.sign_up(session, ADMIN_EMAIL, "Sim Admin", PASSWORD)
            admin.is_admin = True
            session.flush()
            self.admin_id = admin.id
            chapter_catalog(self.app, session, random.Random(self.rng.random()), now)

    def open_first_round(self, now: datetime) -> None:
        """The admins open the first round by hand (the schedule opens the later ones)."""
        with self.request("open the first round") as session:
            assert session is not None
            rounds.open_round(session, self.admin(session), period_of(now), now=now)

    # ------------------------------------------------------------------ a day

    def run_day(self, day: int, start: datetime, move: Callable[[datetime], None]) -> None:
        for n, offset in enumerate(TICKS):
            now = start + offset
            move(now)
            with self.timed("stripe"):
                self.stripe.advance(now)
            self.deliver()
            if n in ACTING:
                with self.timed("admins"):
                    admins.act(self, day, now)
                with self.timed("members"):
                    people.act(self, day, now)
                if day == 0:  # the founders have joined: their first round opens
                    self.open_first_round(now)
                self.stripe.advance(now)
                self.deliver()
            self.tick(now)

    def check(self, now: datetime) -> list[str]:
        """Every registered invariant (the books' among them), and no lapsed member holding a
        licence."""
        from bench.simulate.books import lapsed_holders

        with self.timed("checks"), self.tx() as session:
            found = run_all(self.app, session)
            problems = [f"{name}: {p}" for name, ps in found.items() for p in ps]
            problems += lapsed_holders(session, now)
        problems += [f"webhook answered {e}" for e in self.stats.webhook_errors]
        return problems

    def check_count(self) -> int:
        return len(self.app.extensions.get("softcoop.invariants", {})) + 1
