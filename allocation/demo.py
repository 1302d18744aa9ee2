"""Demo chapter: the last three months' rounds published with hundreds of ballots, this one open.

Built through the same services admins and members use, each step at a moment of its month
(a round for month M opens, is voted on and closes within M). The pools were filled by the
dues chapter, which runs first.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation import ballots, payouts, rounds
from allocation.closing import close_and_publish
from allocation.models import Ballot, RoundVoter
from catalog.models import Channel, ChannelKind
from market.clock import month_end, month_start, period_of, shift_period
from market.members.models import Member
from market.webdb import database

CHANNELS = {
    "Safe & Private": ("Password manager, VPN, encrypted mail.", 5),
    "Know More": ("Independent news and reference subscriptions.", 4),
    "Make Things": ("Photo and vector editors, audio tools.", 3),
    "Build Software": ("Code hosting, CI minutes, an IDE.", 2),
}
PUBLISHED = 3  # months before the current one whose rounds are published
OPENS_AFTER = timedelta(days=1, hours=10)  # a round opens on the 2nd, after the dues came in
TURNOUT = 0.71
CHANGE = 0.40
RESERVE_WEIGHT = 2  # how often a demo member puts part of their split in the reserve


def _channels(session: Session) -> list[Channel]:
    found = {c.name: c for c in session.scalars(select(Channel))}
    for name, (description, _w) in CHANNELS.items():
        if name not in found:
            found[name] = Channel(name=name, description=description)
            session.add(found[name])
    session.flush()
    # The acquisition reserve sits on the ballot too when the reserve chapter set it up.
    reserve = [c for c in found.values() if c.kind == ChannelKind.RESERVE and c.active]
    return [found[name] for name in CHANNELS] + reserve


def _split(rng: random.Random, chans: list[Channel]) -> dict[int, int]:
    """A plausible member's split: 1-3 channels, in steps of 5 %."""
    weights = [CHANNELS[c.name][1] if c.name in CHANNELS else RESERVE_WEIGHT for c in chans]
    picked: list[Channel] = []
    for _ in range(rng.choice([1, 2, 2, 3, 3])):
        c = rng.choices(chans, weights)[0]
        if c not in picked:
            picked.append(c)
    cuts = sorted(rng.sample(range(1, 20), len(picked) - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 20], strict=True)]
    return {c.id: 500 * p for c, p in zip(picked, parts, strict=True)}


def periods(now: datetime) -> tuple[list[str], str]:
    """The months whose rounds the demo publishes (oldest first), and the current month."""
    current = period_of(now)
    return [shift_period(current, k - PUBLISHED) for k in range(PUBLISHED)], current


def opening(period: str, now: datetime) -> datetime:
    """When the demo opens a month's round: early in the month, and never after `now`."""
    return min(month_start(period) + OPENS_AFTER, now)


def _vote_month(
    session: Session,
    rng: random.Random,
    rnd_id: int,
    chans: list[Channel],
    skip: set[int],
    when: datetime,
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
                ballots.abstain(session, m, rnd_id, now=when)
            elif rng.random() < CHANGE:
                ballots.cast_ballot(session, m, rnd_id, _split(rng, chans), now=when)
        elif rng.random() < (0.12 if standing else TURNOUT):  # a few newcomers each month
            ballots.cast_ballot(session, m, rnd_id, _split(rng, chans), now=when)


def chapter_rounds(app: Flask, _session: Session, rng: random.Random, now: datetime) -> None:
    """Budget rounds: the last three months published (with payouts), this month's open."""
    db = database(app)
    currency = app.config["CURRENCY"]
    with db.transaction() as session:
        chans = _channels(session)
        admin = session.scalars(select(Member).where(Member.is_admin)).first()
        assert admin is not None
        nia = session.scalar(select(Member.id).where(Member.email == "nia@commons.example"))
    past, current = periods(now)
    for period in [*past, current]:
        opens = opening(period, now)
        with db.transaction() as session:
            # Closes at the end of its month (the default); votes come in the day it opens.
            rnd = rounds.open_round(session, admin, period, currency=currency, now=opens)
            voted = min(opens + timedelta(days=1), now)
            _vote_month(session, rng, rnd.id, chans, {nia} if nia else set(), voted)
            rid = rnd.id
        if period != current:
            close_and_publish(db, rid, now=month_end(period))
    _pay_channels(app, admin, past[-1], now)


def _pay_channels(app: Flask, admin: Member, last: str, now: datetime) -> None:
    """Pay two thirds of what each channel is owed, a couple of days after the last close."""
    paid_on = min(month_end(last) + timedelta(days=2), now).date()
    with database(app).transaction() as session:
        for i, b in enumerate(payouts.channel_balances(session)):
            if b.owed_cents > 0:
                payouts.record_payout(
                    session,
                    admin,
                    b.channel_id,
                    b.owed_cents * 2 // 3,
                    paid_on,
                    f"DEMO-PAY-{last}-{i + 1:02d}",
                    app.config["CURRENCY"],
                    period=last,
                )
