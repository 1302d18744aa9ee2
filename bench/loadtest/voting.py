"""Budget-round traffic: members cast and change ballots; an admin closes the round while
they vote, then races payouts to the channels against what each is owed."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.http import Recorder
from bench.loadtest.driver import RequestFailed, User
from bench.loadtest.seed import PASSWORD, Plan
from market.clock import period_of, utcnow

ROUND = re.compile(r'action="/rounds/(\d+)/vote"')
SHARES = re.compile(r'name="share-(\d+)"')
ADMIN_EMAIL = "load-admin@example.com"


def installed(app: Flask) -> bool:
    """True once budget rounds (ballots, close, payouts) are part of the app."""
    return "rounds.cast" in app.view_functions


def seed(session: Session, plan: Plan, password_hash: str) -> None:
    """An admin, and this month's round open on every channel with every member a voter."""
    from allocation.rounds import open_round
    from market.members.models import Member

    admin = Member(email=ADMIN_EMAIL, display_name="Load admin", password_hash=password_hash,
                   is_admin=True, status="active")  # fmt: skip
    session.add(admin)
    session.flush()
    now = utcnow()  # the round closes a day later whatever the hour, so the run can vote
    plan.round_id = open_round(
        session, admin, period_of(now), closes_at=now + timedelta(days=1), now=now
    ).id


@dataclass
class RoundState:
    """When the admin started closing the round (a 409 to a ballot is right after that)."""

    closing_since: float | None = None

    def judge(self, status: int) -> bool:
        """A ballot is saved (302), or refused because the round is closing (409)."""
        return status == 302 or (status == 409 and self.closing_since is not None)


async def vote(user: User, state: RoundState) -> None:
    """Open the vote page; save a new split (sometimes abstain) for the open round."""
    _status, page = await user.request("ballot", "GET", "/rounds/vote")
    found = ROUND.search(page)
    if found is None:
        return  # the round is closed: nothing to vote on
    round_id = found.group(1)
    fields = {"csrf_token": user.csrf, "round_id": round_id, "action": "vote"}
    if user.rng.random() < 0.1:
        fields["action"] = "abstain"
    else:
        fields.update(_split(user.rng, SHARES.findall(page)))
    await user.request(
        "ballot", "POST", f"/rounds/{round_id}/vote", data=fields, expect=state.judge
    )


def _split(rng: random.Random, channels: list[str]) -> dict[str, str]:
    """Whole percentages over the channels, adding up to exactly 100."""
    cuts = sorted(rng.randint(0, 100) for _ in range(len(channels) - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    return {f"share-{c}": str(p) for c, p in zip(channels, parts, strict=True)}


async def abandon_vote(user: User, plan_round: int) -> None:
    """Walk away from a ballot mid-request."""
    await user.abandon("POST", f"/rounds/{plan_round}/vote", {"round_id": str(plan_round)})


async def close_and_pay(
    base_url: str,
    rec: Recorder,
    round_id: int,
    state: RoundState,
    at: float,
    owed: Callable[[], dict[int, int]],
) -> None:
    """At `at` s an admin closes the round; then three payouts per channel race, each for
    60 % of what the channel is owed: at most one of them may be booked."""
    await asyncio.sleep(at)
    admin = User(base_url, rec, random.Random(7), ADMIN_EMAIL, PASSWORD)
    try:
        await admin.log_in("admin")
        await admin.request("admin", "GET", f"/admin/rounds/{round_id}")
        state.closing_since = rec.now()
        # Before the announced time the close asks first; the admin confirms closing early.
        await admin.form("admin", f"/admin/rounds/{round_id}/close", {"confirm": "early"})
        await admin.request("admin", "GET", "/admin/payouts/")
        due = await asyncio.get_running_loop().run_in_executor(None, owed)
        races = [
            _payout(admin, channel, cents * 6 // 10, f"LOAD-{channel}-{n}")
            for channel, cents in due.items()
            if cents > 1
            for n in range(3)
        ]
        await asyncio.gather(*races)
    except RequestFailed:
        pass  # recorded; a close cut short by a worker kill resumes on the next try
    finally:
        await admin.close()


async def _payout(admin: User, channel: int, cents: int, reference: str) -> None:
    fields = {"channel_id": str(channel), "amount": f"{cents // 100}.{cents % 100:02d}",
              "paid_on": utcnow().date().isoformat(), "reference": reference}  # fmt: skip
    with contextlib.suppress(RequestFailed):  # recorded already
        await admin.form("payout", "/admin/payouts/", fields, expect=(302, 400))


def owed_by_channel(session: Session) -> dict[int, int]:
    """What each channel is owed now (its payable balance)."""
    from allocation.payouts import owed
    from catalog.models import Channel

    return {cid: owed(session, cid) for cid in session.scalars(select(Channel.id))}


def state_of(plan: Plan) -> RoundState:
    """The run's one RoundState, shared by the members' ballots and the admin's close."""
    state = plan.extras.setdefault("round state", RoundState())
    assert isinstance(state, RoundState)
    return state
