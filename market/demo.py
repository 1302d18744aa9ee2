"""The demo co-op: "Commons Software Co-op" (see shared/STORY.md), built through services.

Each capability adds its chapter to CHAPTERS; chapters run in order, each in its own
transaction, so a later chapter can rely on what an earlier one committed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

import click
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from catalog.demo import chapter_catalog, chapter_claims
from market.clock import utcnow
from market.deals.demo import chapter_deals
from market.members import services as members
from market.members.models import Member, MemberClass
from market.proposals.demo import chapter_decisions
from market.reserve.demo import chapter_reserve
from market.webdb import database

SEED = 2026  # the demo is the same on every load (of the same day)
DEMO_PASSWORD = "commons-together"
ADMIN_EMAIL = "admin@commons.example"
NIA_EMAIL = "nia@commons.example"
MEMBER_COUNT = 300
WORKERS = 6

FIRST = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jin",
    "Kai",
    "Lena",
    "Milo",
    "Noor",
    "Omar",
    "Pia",
    "Quin",
    "Rosa",
    "Sami",
    "Tara",
    "Uma",
    "Vik",
    "Wen",
    "Yara",
]
LAST = [
    "Abara",
    "Berg",
    "Costa",
    "Dahl",
    "Eze",
    "Fong",
    "Gray",
    "Haas",
    "Ito",
    "Jovic",
    "Khan",
    "Lind",
    "Moreau",
    "Ng",
    "Okafor",
    "Park",
    "Quist",
    "Rossi",
    "Silva",
    "Tan",
    "Ueda",
    "Voss",
]


def has_members(session: Session) -> bool:
    """Whether the database already holds members."""
    return (session.scalar(select(func.count()).select_from(Member)) or 0) > 0


def chapter_members(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """The co-op's people: an admin, Nia, and a few hundred members, some of them workers."""
    admin = members.sign_up(session, ADMIN_EMAIL, "Alex Admin", DEMO_PASSWORD)
    admin.is_admin = True
    members.sign_up(session, NIA_EMAIL, "Nia Okafor", DEMO_PASSWORD)
    for i in range(MEMBER_COUNT):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        member = members.sign_up(session, f"member{i:03d}@commons.example", name, DEMO_PASSWORD)
        if i < WORKERS:
            member.member_class = MemberClass.WORKER.value
    # Everyone confirmed their address long ago, but for one member who has not yet.
    session.execute(
        update(Member)
        .where(Member.email != "member299@commons.example")
        .values(email_verified_at=now)
    )
    session.flush()


def chapter_deal_ballots(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """Deal ballot: three accepted Make Things deals put to the members, some approvals in."""
    from market.dealballots.demo import chapter_deal_ballots as ballots

    ballots(app, session, rng, now)


def chapter_rounds(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """Budget rounds: the last three months published, this month's open (see allocation.demo)."""
    from allocation.demo import chapter_rounds as rounds

    rounds(app, session, rng, now)


def chapter_dues(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """Dues: the last three months and this one paid (webhook path); two declines this month."""
    from market.billing.demo import chapter_dues as dues

    dues(app, session, rng, now)


Chapter = Callable[[Flask, Session, random.Random, datetime], None]
CHAPTERS: list[Chapter] = [
    chapter_members,
    chapter_dues,
    chapter_catalog,
    chapter_claims,
    chapter_decisions,
    chapter_reserve,
    chapter_rounds,
    chapter_deals,
    chapter_deal_ballots,
]


def load(app: Flask, now: datetime | None = None) -> None:
    """Run every chapter, each in its own transaction, as the story stands at `now`."""
    now = now or utcnow()
    rng = random.Random(SEED)
    db = database(app)
    # Demo accounts share one password; cheaper hashing keeps loading quick (the
    # parameters live in each hash, so logging in still works with normal settings).
    saved = app.config["PASSWORD_TIME_COST"], app.config["PASSWORD_MEMORY_KIB"]
    app.config.update(PASSWORD_TIME_COST=1, PASSWORD_MEMORY_KIB=8192)
    try:
        for chapter in CHAPTERS:
            with db.transaction() as session:
                chapter(app, session, rng, now)
            click.echo(f"demo: {chapter.__doc__.splitlines()[0] if chapter.__doc__ else ''}")
    finally:
        app.config.update(PASSWORD_TIME_COST=saved[0], PASSWORD_MEMORY_KIB=saved[1])


def ensure_loaded(app: Flask) -> None:
    """Load the demo unless the database already has members; print the logins either way."""
    with database(app).transaction() as session:
        present = has_members(session)
    if present:
        click.echo("Demo data already present.")
    else:
        load(app)
    print_logins()


def print_logins() -> None:
    """Tell the person at the terminal how to get in."""
    click.echo("")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD})")
    click.echo(f"  admin:  {ADMIN_EMAIL}")
    click.echo(f"  member: {NIA_EMAIL}")
    click.echo("  others: member000@commons.example ... member299@commons.example")
