"""The co-op the load run starts from, built before the clock starts (not timed).

Members get one shared cheap password hash (Argon2 at its lowest cost): the run measures
the app, not the password hasher. Each feature adds its own rows when it is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from market.db import utcnow
from market.members.models import Member
from market.webdb import database

PASSWORD = "load-test-password"


@dataclass
class Plan:
    """What the seed built: the traffic picks its members, products and rounds from here."""

    emails: list[str] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    products: list[int] = field(default_factory=list)  # catalogue: claimable products
    customers: list[str] = field(default_factory=list)  # dues: Stripe customer ids
    round_id: int | None = None  # rounds: the open round members vote in
    extras: dict[str, object] = field(default_factory=dict)


def seed(app: Flask, members: int) -> Plan:
    """Build the starting co-op in one transaction and describe it."""
    plan = Plan()
    from bench.loadtest import catalogue, voting, webhooks

    password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    with database(app).transaction() as session:
        _members(session, members, plan, password_hash)
        _channels(session)
        if voting.installed(app):
            voting.seed(session, plan, password_hash)
        if catalogue.installed(app):
            catalogue.seed(session, plan)
        if webhooks.installed(app):
            webhooks.seed(session, plan)
    return plan


def _members(session: Session, count: int, plan: Plan, password_hash: str) -> None:
    now = utcnow()
    rows = [
        {
            "email": f"load{n}@example.com",
            "display_name": f"Load {n}",
            "password_hash": password_hash,
            "is_admin": False,
            "member_class": "consumer",
            "status": "active",
            "created_at": now,
        }
        for n in range(count)
    ]
    session.execute(insert(Member), rows)
    found = session.execute(select(Member.id, Member.email).order_by(Member.id)).all()
    plan.member_ids = [row.id for row in found]
    plan.emails = [row.email for row in found]


def _channels(session: Session) -> None:
    """The four channels members split the pool among."""
    from catalog.models import Channel

    names = ["Safe & Private", "Make Things", "Know More", "Build Software"]
    session.add_all(Channel(name=name, description="load test") for name in names)
    session.flush()
