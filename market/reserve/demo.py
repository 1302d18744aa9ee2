"""Demo chapter: the acquisition reserve on the ballot with a public target (before the rounds).

The rounds chapter then lets some members vote part of their split into it, so the
published months fill it and the home page and the Books show its progress.
"""

from __future__ import annotations

import random
from datetime import datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.clock import month_start, period_of, shift_period
from market.members.models import Member
from market.reserve import services

TARGET_FEES = 400  # the target is this many monthly fees
PURPOSE = "a co-op owned platform for the shelf"


def chapter_reserve(app: Flask, session: Session, _rng: random.Random, now: datetime) -> None:
    """The acquisition reserve: on the ballot since the first demo round, with a target."""
    admin = session.scalars(select(Member).where(Member.is_admin).order_by(Member.id)).first()
    assert admin is not None
    services.set_up(session, admin, on_ballot=True)
    first = month_start(shift_period(period_of(now), -3))
    services.set_target(
        session,
        admin,
        TARGET_FEES * int(app.config["MONTHLY_FEE_CENTS"]),
        PURPOSE,
        app.config["CURRENCY"],
        now=min(first, now),
    )
