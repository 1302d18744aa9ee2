"""What members do each day: join, pay, vote, claim, commit, want, take positions, leave.

Each action goes through the service its page calls, in a request-like session of the
world's (committed on success, rolled back and counted when refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation import ballots, rounds
from allocation.models import Ballot, Round, RoundStatus, RoundVoter
from catalog import browse, claims
from catalog.models import Channel, Claim, Product
from market.billing import card_flows, flows, services
from market.billing.gateway import CardDeclined
from market.deals import demand, groupbuy
from market.deals.models import Commitment, Deal, WantRequest
from market.deals.states import Status
from market.members import services as members
from market.members.models import Member
from market.proposals import services as proposals
from market.proposals.models import Proposal

if TYPE_CHECKING:
    from bench.simulate.world import World

PASSWORD = "simulated-member-password"
GOOD_CARDS = ("4242424242424242", "5555555555554444")
# What a new member types on the card form: mostly good cards, some refused, some that
# are saved but then declined on the first charge.
FIRST_CARDS = [*GOOD_CARDS] * 9 + ["4000000000000002", "4000000000000341"]


@dataclass
class Person:
    """What the simulation remembers of a member (the database has the rest)."""

    index: int
    join_day: int
    member_id: int | None = None
    intent: str | None = None  # a SetupIntent waiting for a card
    card: str | None = None  # the card (payment method) Stripe charges
    loyalty: float = 1.0


def _standing(world: World) -> dict[int, tuple[str, datetime | None, bool]]:
    from market.billing.models import DuesAccount

    with world.tx() as session:
        rows = session.execute(
            select(
                Member.id, Member.status, Member.grace_until, DuesAccount.cancel_at_period_end
            ).outerjoin(DuesAccount, DuesAccount.member_id == Member.id)
        ).all()
    return {mid: (status, grace, bool(cancel)) for mid, status, grace, cancel in rows}


def act(world: World, day: int, now: datetime) -> None:
    standing = _standing(world)
    context = _context(world, now)
    for person in world.people:
        if person.member_id is None:
            if person.join_day <= day:
                join(world, person, now)
            continue
        status, grace, cancelling = standing.get(person.member_id, ("pending", None, False))
        good = status == "active" or (status == "past_due" and grace is not None and now < grace)
        roll = world.rng.random()
        if status == "pending":
            if roll < 0.5:
                pay_first(world, person, now)
        elif status == "past_due":
            if roll < 0.15 * person.loyalty:
                fix_card(world, person, now)
            elif good and roll < 0.3:
                use(world, person, now, context)
        elif status in ("lapsed", "cancelled"):
            if roll < 0.008 * person.loyalty:
                come_back(world, person, now)
        elif good:
            if roll < 0.0014 * (1.5 - person.loyalty) and not cancelling:
                set_cancel(world, person, True)
            elif cancelling and roll < 0.05 * person.loyalty:
                set_cancel(world, person, False)
            elif roll < 0.0045 and person.card:
                world.stripe.break_card(person.card)  # the bank stops honouring the card
                world.stats.actions["card stops working"] += 1
            else:
                use(world, person, now, context)


def _context(world: World, now: datetime) -> dict[str, Any]:
    with world.tx() as session:
        rnd = session.scalar(select(Round).where(Round.status == RoundStatus.OPEN))
        voters: set[int] = set()
        voted: set[int] = set()
        channel_ids: list[int] = []
        if rnd is not None:
            voted = set(
                session.scalars(
                    select(Ballot.member_id).where(Ballot.round_id == rnd.id, Ballot.is_current)
                )
            )
            voters = set(
                session.scalars(select(RoundVoter.member_id).where(RoundVoter.round_id == rnd.id))
            )
            channel_ids = [c.id for c in rounds.round_channels(session, rnd.id)]
        products = list(session.scalars(select(Product.id).where(Product.active)))
        # What the catalogue shows as sold out (0 left); links never run out.
        shelves = browse.stock(session, int(world.app.config["LEADER_SHARE_BP"]))
        sold_out = {line.shelf.product.id for line in shelves if line.shelf.left == 0}
        held: dict[int, dict[int, int]] = {}  # member: {claim: product}
        for cid, mid, pid in session.execute(
            select(Claim.id, Claim.member_id, Claim.product_id).where(Claim.released_at.is_(None))
        ):
            held.setdefault(mid, {})[cid] = pid
        requests = list(session.scalars(select(WantRequest.id)))
        buys = list(
            session.scalars(
                select(Deal.id).where(
                    Deal.group_buy, Deal.status == Status.ACCEPTED, Deal.deadline > now
                )
            )
        )
        committed = set(session.execute(select(Commitment.deal_id, Commitment.member_id)))
        open_proposals = list(session.scalars(select(Proposal.id).where(Proposal.closes_at > now)))
        channels = list(session.scalars(select(Channel.id).where(Channel.active)))
    return {
        "round": rnd.id if rnd is not None else None,
        "voters": voters,
        "channel_ids": channel_ids,
        "products": products,
        "sold_out": sold_out,
        "held": held,
        "requests": requests,
        "buys": buys,
        "committed": committed,
        "proposals": open_proposals,
        "channels": channels,
        "voted": voted,
    }


def _member(world: World, session: Session, person: Person) -> Member:
    member = session.get(Member, person.member_id)
    assert member is not None
    return member


def join(world: World, person: Person, now: datetime) -> None:
    with world.request("sign up") as session:
        assert session is not None
        member = members.sign_up(
            session, f"sim{person.index:05d}@sim.example", f"Member {person.index}", PASSWORD
        )
        session.flush()
        person.member_id = member.id
    if person.member_id is not None:
        pay_first(world, person, now, world.rng.choice(FIRST_CARDS))


def _card_form(world: World, person: Person) -> str | None:
    intent: str | None = None
    with world.request("start dues") as session:
        assert session is not None
        intent = flows.start(session, world.stripe, _member(world, session, person), world.cfg)
    return intent


def _confirm(world: World, intent: str, number: str) -> bool:
    try:
        world.stripe.confirm_setup_intent(intent, number)
    except CardDeclined:
        world.stats.refused["card refused on the form"] += 1
        return False
    return True


def pay_first(world: World, person: Person, now: datetime, number: str | None = None) -> None:
    """Set up dues: the card form (a SetupIntent), the card, the subscription."""
    intent = person.intent or _card_form(world, person)
    if intent is None:
        return
    person.intent = intent
    if not _confirm(world, intent, number or world.rng.choice(GOOD_CARDS)):
        return
    with world.request("subscribe") as session:
        assert session is not None
        member = _member(world, session, person)
        flows.subscribe(session, world.stripe, member, intent, world.cfg)
        card_flows.remember_card(session, world.stripe, member)
    person.intent = None  # used: a declined first charge needs a new card form
    _remember_card(world, person)


def _remember_card(world: World, person: Person) -> None:
    with world.tx() as session:
        account = services.find_account(session, _member(world, session, person))
        customer = account.customer_id if account is not None else None
    if customer:
        person.card = world.stripe.default_card(customer)


def come_back(world: World, person: Person, now: datetime) -> None:
    person.intent = None
    pay_first(world, person, now)


def fix_card(world: World, person: Person, now: datetime) -> None:
    """A past-due member enters a new card and pays the open invoice now."""
    intent: str | None = None
    with world.request("new card form") as session:
        assert session is not None
        intent = card_flows.start_card_update(
            session, world.stripe, _member(world, session, person)
        )
    if intent is None or not _confirm(world, intent, world.rng.choice(GOOD_CARDS)):
        return
    with world.request("new card") as session:
        assert session is not None
        card_flows.finish_card_update(
            session, world.stripe, _member(world, session, person), intent
        )
    _remember_card(world, person)
    try:
        with world.request("pay now") as session:
            assert session is not None
            card_flows.pay_now(session, world.stripe, _member(world, session, person), world.cfg)
    except CardDeclined:  # a DomainError too, but raised past the request: count it
        world.stats.refused["pay now"] += 1


def set_cancel(world: World, person: Person, cancel: bool) -> None:
    with world.request("cancel" if cancel else "undo cancel") as session:
        assert session is not None
        flows.set_cancel(session, world.stripe, _member(world, session, person), cancel, world.cfg)


def use(world: World, person: Person, now: datetime, ctx: dict[str, Any]) -> None:
    """A member in good standing does one of the things members do, or nothing."""
    roll = world.rng.random()
    mid = person.member_id
    assert mid is not None
    voting = ctx["round"] and mid in ctx["voters"] and person.loyalty > 0.3
    if voting and mid not in ctx["voted"] and roll < 0.08:
        vote(world, person, ctx)  # most voters vote in the round's first weeks
    elif voting and mid in ctx["voted"] and roll < 0.002:
        vote(world, person, ctx)  # and a few change their split
    elif roll < 0.082 and ctx["products"]:
        claim(world, person, ctx)
    elif roll < 0.083 and ctx["held"].get(mid):
        cid = world.rng.choice(sorted(ctx["held"][mid]))
        with world.request("release") as session:
            assert session is not None
            claims.release(session, _member(world, session, person), cid, now)
            del ctx["held"][mid][cid]
    elif roll < 0.09 and ctx["buys"]:
        group_buy(world, person, ctx, now)
    elif roll < 0.092:
        want(world, person, ctx, now)
    elif roll < 0.098 and ctx["proposals"]:
        position(world, person, ctx, now)


def vote(world: World, person: Person, ctx: dict[str, Any]) -> None:
    ids: list[int] = ctx["channel_ids"]
    cuts = sorted(world.rng.randrange(10001) for _ in range(len(ids) - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 10000], strict=True)]
    with world.request("vote") as session:
        assert session is not None
        ballots.cast_ballot(
            session,
            _member(world, session, person),
            ctx["round"],
            dict(zip(ids, parts, strict=True)),
        )
    ctx["voted"].add(person.member_id)


def claim(world: World, person: Person, ctx: dict[str, Any]) -> None:
    """Claim a product the member does not hold and the catalogue does not show sold out
    (as of this morning: another member may take the last one first, and is refused)."""
    held = ctx["held"].setdefault(person.member_id, {})
    if world.rng.random() < 0.05:  # a stale tab, a double click: told why not
        product = world.rng.choice(ctx["products"])
    else:
        wanted = sorted(set(ctx["products"]) - set(held.values()) - ctx["sold_out"])
        if not wanted:
            return
        product = world.rng.choice(wanted)
    with world.request("claim") as session:
        assert session is not None
        held[claims.claim(session, _member(world, session, person), product)] = product


def group_buy(world: World, person: Person, ctx: dict[str, Any], now: datetime) -> None:
    deal_id = world.rng.choice(ctx["buys"])
    key = (deal_id, person.member_id)
    if key in ctx["committed"]:
        if world.rng.random() < 0.3:
            with world.request("withdraw from group buy") as session:
                assert session is not None
                deal = session.get(Deal, deal_id)
                assert deal is not None
                groupbuy.withdraw(session, _member(world, session, person), deal, now)
                ctx["committed"].discard(key)
        return
    with world.request("commit to group buy") as session:
        assert session is not None
        deal = session.get(Deal, deal_id)
        assert deal is not None
        groupbuy.commit(session, _member(world, session, person), deal, now)
        ctx["committed"].add(key)


def want(world: World, person: Person, ctx: dict[str, Any], now: datetime) -> None:
    if ctx["requests"] and world.rng.random() < 0.8:
        with world.request("want") as session:
            assert session is not None
            demand.add_want(
                session, _member(world, session, person), world.rng.choice(ctx["requests"]), now
            )
        return
    with world.request("ask for software") as session:
        assert session is not None
        made = demand.ask_for(
            session,
            _member(world, session, person),
            f"Tool number {world.rng.randrange(10_000)}",
            f"Maker {world.rng.randrange(100)}",
            "Members would use this.",
            world.rng.choice(ctx["channels"]),
            now,
        )
        ctx["requests"].append(made.id)


def position(world: World, person: Person, ctx: dict[str, Any], now: datetime) -> None:
    stance = world.rng.choice(["agree", "agree", "agree", "abstain", "disagree", "block"])
    reason = "This goes against what the co-op is for." if stance == "block" else None
    with world.request("take a position") as session:
        assert session is not None
        proposal = session.get(Proposal, world.rng.choice(ctx["proposals"]))
        assert proposal is not None
        proposals.take_position(
            session, _member(world, session, person), proposal, stance, reason, now
        )
