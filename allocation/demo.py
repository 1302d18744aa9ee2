"""Demo chapter: three published rounds (Aug-Oct 2026) with hundreds of ballots, November open.

Built through the same services admins and members use. The pools were filled by the dues
chapter, which runs first.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation import ballots, payouts, rounds
from allocation.closing import close_and_publish
from allocation.models import Ballot, RoundVoter
from catalog.models import Channel
from market.db import utcnow
from market.members.models import Member
from market.webdb import database

CHANNELS = {
    "Safe & Private": ("Password manager, VPN, encrypted mail.", 5),
    "Know More": ("Independent news and reference subscriptions.", 4),
    "Make Things": ("Photo and vector editors, audio tools.", 3),
    "Build Software": ("Code hosting, CI minutes, an IDE.", 2),
}
PAST = ["2026-08", "2026-09", "2026-10"]
CURRENT = "2026-11"
TURNOUT = 0.71
CHANGE = 0.40


def _channels(session: Session) -> list[Channel]:
    found = {c.name: c for c in session.scalars(select(Channel))}
    for name, (description, _w) in CHANNELS.items():
        if name not in found:
            found[name] = Channel(name=name, description=description)
            session.add(found[name])
    session.flush()
    return [found[name] for name in CHANNELS]


def _split(rng: random.Random, chans: list[Channel]) -> dict[int, int]:
    """A plausible member's split: 1-3 channels, in steps of 5 %."""
    weights = [CHANNELS[c.name][1] for c in chans]
    picked: list[Channel] = []
    for _ in range(rng.choice([1, 2, 2, 3, 3])):
        c = rng.choices(chans, weights)[0]
        if c not in picked:
            picked.append(c)
    cuts = sorted(rng.sample(range(1, 20), len(picked) - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 20], strict=True)]
    return {c.id: 500 * p for c, p in zip(picked, parts, strict=True)}


def _vote_month(
    session: Session, rng: random.Random, rnd_id: int, chans: list[Channel], skip: set[int]
) -> None:
    voters = session.scalars(
        select(Member)
        .join(RoundVoter, RoundVoter.member_id == Member.id)
        .where(RoundVoter.round_id == rnd_id)
        .order_by(Member.id)
    ).all()
    standing = set(
        session.scalars(
            select(Ballot.member_id).where(Ballot.round_id == rnd_id, Ballot.is_current)
        )
    )
    for m in voters:
        if m.id in skip:
            continue
        if m.id in standing:
            if rng.random() < 0.04:
                ballots.abstain(session, m, rnd_id)
            elif rng.random() < CHANGE:
                ballots.cast_ballot(session, m, rnd_id, _split(rng, chans))
        elif rng.random() < (0.12 if standing else TURNOUT):  # a few newcomers each month
            ballots.cast_ballot(session, m, rnd_id, _split(rng, chans))


def chapter_rounds(app: Flask, _session: Session, rng: random.Random) -> None:
    """Budget rounds: August to October published (with payouts), November open for voting."""
    db = database(app)
    audit_dir = Path(app.config["AUDIT_DIR"])
    currency = app.config["CURRENCY"]
    with db.transaction() as session:
        chans = _channels(session)
        admin = session.scalars(select(Member).where(Member.is_admin)).first()
        assert admin is not None
        nia = session.scalar(select(Member.id).where(Member.email == "nia@commons.example"))
    for period in [*PAST, CURRENT]:
        with db.transaction() as session:
            closes = utcnow() + timedelta(days=4)
            rnd = rounds.open_round(session, admin, period, closes_at=closes, currency=currency)
            _vote_month(session, rng, rnd.id, chans, {nia} if nia else set())
            rid = rnd.id
        if period != CURRENT:
            close_and_publish(db, rid, audit_dir)
    with db.transaction() as session:
        for i, b in enumerate(payouts.channel_balances(session)):
            if b.owed_cents > 0:
                payouts.record_payout(
                    session,
                    admin,
                    b.channel_id,
                    b.owed_cents * 2 // 3,
                    date(2026, 11, 3),
                    f"DEMO-PAY-2026-11-{i + 1:02d}",
                    currency,
                )
