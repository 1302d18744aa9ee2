"""The simulated co-op: its app, its clock, its people and what they do each day.

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
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation import ballots, payouts, rounds
from allocation.models import Ballot, Round, RoundStatus, RoundVoter
from catalog import claims
from catalog.demo import ADMIN_EMAIL, chapter_catalog
from catalog.models import Channel, Claim, Product, Vendor
from market.billing import card_flows, flows, services
from market.billing.gateway import CardDeclined, gateway
from market.billing.memory import MemoryStripe
from market.clock import period_of
from market.deals import demand, groupbuy, links, negotiation
from market.deals.models import Commitment, Deal, WantRequest
from market.deals.negotiation import DealInput, Terms
from market.deals.states import Actor, Status
from market.deals.tiers import Tier
from market.errors import DomainError
from market.invariants import run_all
from market.jobs.schedule import tick
from market.ledger.services import balance, channel_code
from market.members import services as members
from market.members.models import Member
from market.proposals import services as proposals
from market.proposals.models import Proposal
from market.webdb import database

PASSWORD = "simulated-member-password"
GOOD_CARDS = ("4242424242424242", "5555555555554444")
# What a new member types on the card form: mostly good cards, some refused, some that
# are saved but then declined on the first charge.
FIRST_CARDS = [*GOOD_CARDS] * 9 + ["4000000000000002", "4000000000000341"]
# Moments of each simulated day when the schedule ticks (just after midnight, when
# rounds close and open, and at noon); members and admins act at noon, before its tick.
TICKS = (timedelta(seconds=30), timedelta(hours=12))
ACTING = (1,)


@dataclass
class Person:
    """What the simulation remembers of a member (the database has the rest)."""

    index: int
    join_day: int
    member_id: int | None = None
    intent: str | None = None  # a SetupIntent waiting for a card
    card: str | None = None  # the card (payment method) Stripe charges
    loyalty: float = 1.0


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
                    self.admins_act(day, now, n)
                with self.timed("members"):
                    self.people_act(day, now)
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

    # ------------------------------------------------------------------ members

    def _standing(self) -> dict[int, tuple[str, datetime | None, bool]]:
        from market.billing.models import DuesAccount

        with self.tx() as session:
            rows = session.execute(
                select(
                    Member.id, Member.status, Member.grace_until, DuesAccount.cancel_at_period_end
                ).outerjoin(DuesAccount, DuesAccount.member_id == Member.id)
            ).all()
        return {mid: (status, grace, bool(cancel)) for mid, status, grace, cancel in rows}

    def people_act(self, day: int, now: datetime) -> None:
        standing = self._standing()
        context = self._context(now)
        for person in self.people:
            if person.member_id is None:
                if person.join_day <= day:
                    self.join(person, now)
                continue
            status, grace, cancelling = standing.get(person.member_id, ("pending", None, False))
            good = status == "active" or (
                status == "past_due" and grace is not None and now < grace
            )
            roll = self.rng.random()
            if status == "pending":
                if roll < 0.5:
                    self.pay_first(person, now)
            elif status == "past_due":
                if roll < 0.15 * person.loyalty:
                    self.fix_card(person, now)
                elif good and roll < 0.3:
                    self.use(person, now, context)
            elif status in ("lapsed", "cancelled"):
                if roll < 0.008 * person.loyalty:
                    self.come_back(person, now)
            elif good:
                if roll < 0.0014 * (1.5 - person.loyalty) and not cancelling:
                    self.set_cancel(person, True)
                elif cancelling and roll < 0.05 * person.loyalty:
                    self.set_cancel(person, False)
                elif roll < 0.0045 and person.card:
                    self.stripe.break_card(person.card)  # the bank stops honouring the card
                    self.stats.actions["card stops working"] += 1
                else:
                    self.use(person, now, context)

    def _context(self, now: datetime) -> dict[str, Any]:
        with self.tx() as session:
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
                    session.scalars(
                        select(RoundVoter.member_id).where(RoundVoter.round_id == rnd.id)
                    )
                )
                channel_ids = [c.id for c in rounds.round_channels(session, rnd.id)]
            products = list(session.scalars(select(Product.id).where(Product.active)))
            held: dict[int, list[int]] = {}
            for cid, mid in session.execute(
                select(Claim.id, Claim.member_id).where(Claim.released_at.is_(None))
            ):
                held.setdefault(mid, []).append(cid)
            requests = list(session.scalars(select(WantRequest.id)))
            buys = list(
                session.scalars(
                    select(Deal.id).where(
                        Deal.group_buy, Deal.status == Status.ACCEPTED, Deal.deadline > now
                    )
                )
            )
            committed = set(session.execute(select(Commitment.deal_id, Commitment.member_id)))
            open_proposals = list(
                session.scalars(select(Proposal.id).where(Proposal.closes_at > now))
            )
            channels = list(session.scalars(select(Channel.id).where(Channel.active)))
        return {
            "round": rnd.id if rnd is not None else None,
            "voters": voters,
            "channel_ids": channel_ids,
            "products": products,
            "held": held,
            "requests": requests,
            "buys": buys,
            "committed": committed,
            "proposals": open_proposals,
            "channels": channels,
            "voted": voted,
        }

    def _member(self, session: Session, person: Person) -> Member:
        member = session.get(Member, person.member_id)
        assert member is not None
        return member

    def join(self, person: Person, now: datetime) -> None:
        with self.request("sign up") as session:
            assert session is not None
            member = members.sign_up(
                session, f"sim{person.index:05d}@sim.example", f"Member {person.index}", PASSWORD
            )
            session.flush()
            person.member_id = member.id
        if person.member_id is not None:
            self.pay_first(person, now, self.rng.choice(FIRST_CARDS))

    def _card_form(self, person: Person) -> str | None:
        intent: str | None = None
        with self.request("start dues") as session:
            assert session is not None
            intent = flows.start(session, self.stripe, self._member(session, person), self.cfg)
        return intent

    def _confirm(self, intent: str, number: str) -> bool:
        try:
            self.stripe.confirm_setup_intent(intent, number)
        except CardDeclined:
            self.stats.refused["card refused on the form"] += 1
            return False
        return True

    def pay_first(self, person: Person, now: datetime, number: str | None = None) -> None:
        """Set up dues: the card form (a SetupIntent), the card, the subscription."""
        intent = person.intent or self._card_form(person)
        if intent is None:
            return
        person.intent = intent
        if not self._confirm(intent, number or self.rng.choice(GOOD_CARDS)):
            return
        with self.request("subscribe") as session:
            assert session is not None
            member = self._member(session, person)
            flows.subscribe(session, self.stripe, member, intent, self.cfg)
            card_flows.remember_card(session, self.stripe, member)
        person.intent = None  # used: a declined first charge needs a new card form
        self._remember_card(person)

    def _remember_card(self, person: Person) -> None:
        with self.tx() as session:
            account = services.find_account(session, self._member(session, person))
            customer = account.customer_id if account is not None else None
        if customer:
            person.card = self.stripe.default_card(customer)

    def come_back(self, person: Person, now: datetime) -> None:
        person.intent = None
        self.pay_first(person, now)

    def fix_card(self, person: Person, now: datetime) -> None:
        """A past-due member enters a new card and pays the open invoice now."""
        intent: str | None = None
        with self.request("new card form") as session:
            assert session is not None
            intent = card_flows.start_card_update(
                session, self.stripe, self._member(session, person)
            )
        if intent is None or not self._confirm(intent, self.rng.choice(GOOD_CARDS)):
            return
        with self.request("new card") as session:
            assert session is not None
            card_flows.finish_card_update(
                session, self.stripe, self._member(session, person), intent
            )
        self._remember_card(person)
        try:
            with self.request("pay now") as session:
                assert session is not None
                card_flows.pay_now(session, self.stripe, self._member(session, person), self.cfg)
        except CardDeclined:  # a DomainError too, but raised past the request: count it
            self.stats.refused["pay now"] += 1

    def set_cancel(self, person: Person, cancel: bool) -> None:
        with self.request("cancel" if cancel else "undo cancel") as session:
            assert session is not None
            flows.set_cancel(session, self.stripe, self._member(session, person), cancel, self.cfg)

    def use(self, person: Person, now: datetime, ctx: dict[str, Any]) -> None:
        """A member in good standing does one of the things members do, or nothing."""
        roll = self.rng.random()
        mid = person.member_id
        assert mid is not None
        voting = ctx["round"] and mid in ctx["voters"] and person.loyalty > 0.3
        if voting and mid not in ctx["voted"] and roll < 0.08:
            self.vote(person, ctx)  # most voters vote in the round's first weeks
        elif voting and mid in ctx["voted"] and roll < 0.002:
            self.vote(person, ctx)  # and a few change their split
        elif roll < 0.082 and ctx["products"]:
            self.claim(person, ctx)
        elif roll < 0.083 and ctx["held"].get(mid):
            cid = self.rng.choice(ctx["held"][mid])
            with self.request("release") as session:
                assert session is not None
                claims.release(session, self._member(session, person), cid, now)
                ctx["held"][mid].remove(cid)
        elif roll < 0.09 and ctx["buys"]:
            self.group_buy(person, ctx, now)
        elif roll < 0.092:
            self.want(person, ctx, now)
        elif roll < 0.098 and ctx["proposals"]:
            self.position(person, ctx, now)

    def vote(self, person: Person, ctx: dict[str, Any]) -> None:
        ids: list[int] = ctx["channel_ids"]
        cuts = sorted(self.rng.randrange(10001) for _ in range(len(ids) - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, 10000], strict=True)]
        with self.request("vote") as session:
            assert session is not None
            ballots.cast_ballot(
                session,
                self._member(session, person),
                ctx["round"],
                dict(zip(ids, parts, strict=True)),
            )
        ctx["voted"].add(person.member_id)

    def claim(self, person: Person, ctx: dict[str, Any]) -> None:
        product = self.rng.choice(ctx["products"])
        with self.request("claim") as session:
            assert session is not None
            cid = claims.claim(session, self._member(session, person), product)
            ctx["held"].setdefault(person.member_id, []).append(cid)

    def group_buy(self, person: Person, ctx: dict[str, Any], now: datetime) -> None:
        deal_id = self.rng.choice(ctx["buys"])
        key = (deal_id, person.member_id)
        if key in ctx["committed"]:
            if self.rng.random() < 0.3:
                with self.request("withdraw from group buy") as session:
                    assert session is not None
                    deal = session.get(Deal, deal_id)
                    assert deal is not None
                    groupbuy.withdraw(session, self._member(session, person), deal, now)
                    ctx["committed"].discard(key)
            return
        with self.request("commit to group buy") as session:
            assert session is not None
            deal = session.get(Deal, deal_id)
            assert deal is not None
            groupbuy.commit(session, self._member(session, person), deal, now)
            ctx["committed"].add(key)

    def want(self, person: Person, ctx: dict[str, Any], now: datetime) -> None:
        if ctx["requests"] and self.rng.random() < 0.8:
            with self.request("want") as session:
                assert session is not None
                demand.add_want(
                    session, self._member(session, person), self.rng.choice(ctx["requests"]), now
                )
            return
        with self.request("ask for software") as session:
            assert session is not None
            made = demand.ask_for(
                session,
                self._member(session, person),
                f"Tool number {self.rng.randrange(10_000)}",
                f"Maker {self.rng.randrange(100)}",
                "Members would use this.",
                self.rng.choice(ctx["channels"]),
                now,
            )
            ctx["requests"].append(made.id)

    def position(self, person: Person, ctx: dict[str, Any], now: datetime) -> None:
        stance = self.rng.choice(["agree", "agree", "agree", "abstain", "disagree", "block"])
        reason = "This goes against what the co-op is for." if stance == "block" else None
        with self.request("take a position") as session:
            assert session is not None
            proposal = session.get(Proposal, self.rng.choice(ctx["proposals"]))
            assert proposal is not None
            proposals.take_position(
                session, self._member(session, person), proposal, stance, reason, now
            )

    # ------------------------------------------------------------------ admins and vendors

    def admins_act(self, day: int, now: datetime, phase: int) -> None:
        if phase != ACTING[0]:
            return
        if now.day == 2:
            self.pay_channels(now)
        if now.day in (3, 17):
            self.open_group_buy(now)
        if now.day == 5:
            self.propose(now)

    def pay_channels(self, now: datetime) -> None:
        """Send each channel part of what it is owed (the rest stays for group buys)."""
        with self.tx() as session:
            owed = {c: payouts.owed(session, c) for c in session.scalars(select(Channel.id))}
        for channel_id, cents in owed.items():
            part = cents * self.rng.randrange(40, 80) // 100
            if part <= 0:
                continue
            with self.request("record payout") as session:
                assert session is not None
                payouts.record_payout(
                    session,
                    self.admin(session),
                    channel_id,
                    part,
                    date(now.year, now.month, now.day),
                    f"SIM-{now:%Y%m%d}-{channel_id}",
                    self.currency,
                )

    def open_group_buy(self, now: datetime) -> None:
        """An admin opens a group buy; the vendor offers; the admin counters or accepts."""
        leader_bp = int(self.app.config["LEADER_SHARE_BP"])
        ratify = int(self.app.config["RATIFY_ABOVE_CENTS"])
        with self.tx() as session:
            candidates = list(
                session.execute(
                    select(Product.id, Product.channel_id, Product.name)
                    .join(Vendor, Vendor.id == Product.vendor_id)
                    .where(Product.kind == "seat", Vendor.market_share_bp < leader_bp)
                    .order_by(Product.id)
                )
            )
            good = session.scalar(select(func.count()).where(Member.status == "active"))
        if not candidates:
            return
        product_id, channel_id, name = self.rng.choice(candidates)
        minimum = max(2, (good or 0) // self.rng.randrange(15, 40))
        with self.tx() as session:
            available = balance(session, channel_code(channel_id))
        # A careful admin: even if every member in good standing commits, the channel pays.
        price = min(self.rng.randrange(20, 120), available // max(good or 1, minimum))
        if price < 4:
            return
        with self.request("open group buy") as session:
            assert session is not None
            admin = self.admin(session)
            deal = negotiation.open_deal(
                session,
                admin,
                DealInput(
                    title=f"{name} group buy ({now:%d %b})",
                    product_id=product_id,
                    channel_id=channel_id,
                    seats_wanted=minimum * 2,
                    term_months=self.rng.choice([1, 3, 6]),
                    group_buy=True,
                    min_members=minimum,
                    deadline=now + timedelta(days=self.rng.randrange(5, 14)),
                ),
                leader_bp,
                now=now,
            )
            link, _token = links.create_link(session, admin, deal, 14, now=now)
            terms = Terms([Tier(1, price), Tier(minimum, price * 3 // 4)], 1, deal.term_months)
            negotiation.make_offer(session, deal, Actor.VENDOR, terms, link=link, now=now)
            if self.rng.random() < 0.5:  # the admin counters; the vendor takes it
                lower = Terms(
                    [Tier(1, price * 3 // 4), Tier(minimum, price // 2)], 1, deal.term_months
                )
                negotiation.make_offer(session, deal, Actor.ADMIN, lower, member=admin, now=now)
                negotiation.accept(session, deal, Actor.VENDOR, ratify, now=now)
            else:
                negotiation.accept(session, deal, Actor.ADMIN, ratify, member=admin, now=now)

    def propose(self, now: datetime) -> None:
        """A member in good standing puts something to the others."""
        with self.tx() as session:
            authors = list(session.scalars(select(Member.id).where(Member.status == "active")))
        if not authors:
            return
        author_id = self.rng.choice(authors)
        with self.request("start a proposal") as session:
            assert session is not None
            author = session.get(Member, author_id)
            assert author is not None
            proposals.start_proposal(
                session,
                author,
                f"Proposal of {now:%B}",
                "Shall the co-op do this?",
                now + timedelta(days=self.rng.randrange(5, 12)),
                now=now,
            )
