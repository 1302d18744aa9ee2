"""Spending the reserve: only by a decision naming an amount and a payee, booked once if it passes.

A member in good standing proposes a spend (a proposal that carries money: the amount and
the payee are fixed in it and it needs a quorum). When it has closed, `settle_spend` books
the transfer `reserve:acquisition -> vendor:<id>` keyed `decision:<proposal id>:reserve`,
if and only if it passed (more agree than disagree, no standing block, quorum reached)
and the reserve still holds the amount. The spend row is locked first, so two settles
running at once take turns and the second finds it done; the ledger key would refuse a
second booking anyway. A decision that did not pass, or that the reserve cannot cover,
moves nothing and says why. Either way the author and those who took a position are told
what became of the money. Flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from catalog.models import Vendor
from market.clock import utcnow
from market.errors import Conflict, DomainError, NotFound
from market.ledger.models import Account
from market.ledger.services import ACQUISITION, Move, balance, get_account, post, vendor_code
from market.members.models import Member
from market.money import Money
from market.notifications.services import notify_many
from market.proposals.models import Position, Proposal
from market.proposals.results import proposal_passed
from market.proposals.services import start_proposal
from market.reserve.models import ReserveSpend, SpendStatus, spend_key
from market.reserve.services import reserve_channel

SUBJECT = "reserve_spend"


@dataclass(frozen=True)
class SpendInput:
    """What a member proposes: pay `amount_cents` from the reserve to vendor `vendor_id`."""

    vendor_id: int
    amount_cents: int
    title: str
    reason: str
    closes_at: datetime


def _amount(cents: object) -> int:
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise DomainError("The amount is a whole number of cents.")
    if cents <= 0:
        raise DomainError("The amount must be more than zero.")
    return cents


def propose_spend(
    session: Session,
    member: Member,
    data: SpendInput,
    *,
    quorum_bp: int,
    currency: str,
    now: datetime | None = None,
) -> ReserveSpend:
    """Put a spend to the members; refused (nothing written) for a bad payee or amount."""
    now = now or utcnow()
    cents = _amount(data.amount_cents)
    if not (data.reason or "").strip():
        raise DomainError("Please say why the co-op should spend this.")
    if reserve_channel(session) is None:
        raise Conflict("The co-op has no acquisition reserve yet.")
    vendor = session.get(Vendor, data.vendor_id) if 0 < data.vendor_id < 2**31 else None
    if vendor is None:
        raise NotFound("There is no such payee: choose a vendor the co-op knows.")
    held = balance(session, ACQUISITION)
    if cents > held:
        raise DomainError(
            f"The reserve holds {Money(held, currency).format()}; a decision cannot spend "
            f"{Money(cents, currency).format()}."
        )
    figure = Money(cents, currency).format()
    body = (
        f"{(data.reason or '').strip()}\n\n---\n\n"
        f"**This decision moves money.** If it passes (more agree than disagree, no block, "
        f"and its quorum reached), **{figure}** goes from the acquisition reserve to "
        f"**{vendor.name}**, once. Otherwise nothing moves."
    )
    proposal = start_proposal(
        session,
        member,
        data.title,
        body,
        data.closes_at,
        terms={"vendor_id": vendor.id, "vendor": vendor.name, "amount_cents": cents},
        quorum_bp=quorum_bp,
        now=now,
    )
    spend = ReserveSpend(
        proposal_id=proposal.id,
        vendor_id=vendor.id,
        amount_cents=cents,
        currency=currency.lower(),
        proposed_by=member.id,
        created_at=now,
    )
    session.add(spend)
    session.flush()
    proposal.subject_kind, proposal.subject_id = SUBJECT, spend.id
    session.flush()
    return spend


def settle_spend(session: Session, spend_id: int, now: datetime | None = None) -> ReserveSpend:
    """Book a closed decision's transfer if it passed and the reserve covers it (idempotent)."""
    now = now or utcnow()
    spend = session.scalar(
        select(ReserveSpend)
        .where(ReserveSpend.id == spend_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if spend is None:
        raise NotFound("There is no such decision to spend the reserve.")
    if spend.status != SpendStatus.PENDING:
        return spend  # decided before (by this run's twin, or an earlier one)
    proposal = session.get(Proposal, spend.proposal_id)
    assert proposal is not None
    if proposal.is_open(now):
        return spend
    passed, why = proposal_passed(session, proposal, now)
    why = why.replace("Ratified:", "Passed:").replace("The ratification proposal", "The decision")
    if not passed:
        return _decide(session, spend, SpendStatus.NOT_PASSED, f"{why} Nothing moved.", now)
    # Lock the reserve's account so two decisions cannot both spend the same money, then
    # read its balance in a statement of its own: one begun after the lock was granted sees
    # what the decision before committed, in the account's row and in its slots.
    get_account(session, ACQUISITION, spend.currency)
    session.execute(select(Account.id).where(Account.code == ACQUISITION).with_for_update())
    held = balance(session, ACQUISITION)
    money = Money(spend.amount_cents, spend.currency).format()
    if spend.amount_cents > (held or 0):
        have = Money(held or 0, spend.currency).format()
        return _decide(
            session,
            spend,
            SpendStatus.REFUSED,
            f"It passed, but the reserve held {have}, less than {money}. Nothing moved.",
            now,
        )
    vendor = session.get(Vendor, spend.vendor_id)
    post(
        session,
        spend_key(proposal.id),
        SUBJECT,
        f"Decision #{proposal.id}: {money} from the acquisition reserve to "
        f"{vendor.name if vendor else 'vendor #' + str(spend.vendor_id)}",
        [Move(ACQUISITION, vendor_code(spend.vendor_id), spend.amount_cents)],
        spend.currency,
        occurred_at=now,
    )
    return _decide(session, spend, SpendStatus.BOOKED, f"{why} {money} moved.", now)


def _decide(
    session: Session, spend: ReserveSpend, status: SpendStatus, outcome: str, now: datetime
) -> ReserveSpend:
    spend.status, spend.outcome, spend.decided_at = status.value, outcome, now
    session.flush()
    _announce(session, spend, outcome)
    return spend


def _announce(session: Session, spend: ReserveSpend, outcome: str) -> None:
    """Tell the author and everyone who took a position what became of the money, once."""
    took_part = select(Position.member_id).where(Position.proposal_id == spend.proposal_id)
    proposal = session.get(Proposal, spend.proposal_id)
    author_id = proposal.author_id if proposal is not None else None
    members = (
        select(Member)
        .where(or_(Member.id.in_(took_part), Member.id == author_id))
        .order_by(Member.id)
    )
    moved = spend.status == SpendStatus.BOOKED
    notify_many(
        session,
        members,
        "proposal.outcome",
        "Money left the acquisition reserve" if moved else "The reserve spend moved nothing",
        f"A decision to spend the acquisition reserve has been settled. {outcome}",
        f"/decisions/{spend.proposal_id}",
        event_key=f"reserve-spend:{spend.id}:settled",
    )


def due_spends(session: Session, now: datetime) -> list[int]:
    """Pending spends whose decision has closed, oldest first."""
    return list(
        session.scalars(
            select(ReserveSpend.id)
            .join(Proposal, Proposal.id == ReserveSpend.proposal_id)
            .where(ReserveSpend.status == SpendStatus.PENDING, Proposal.closes_at <= now)
            .order_by(Proposal.closes_at, ReserveSpend.id)
        )
    )


def spend_for_proposal(session: Session, proposal_id: int) -> ReserveSpend | None:
    """The spend a proposal decides, if it decides one."""
    return session.scalar(select(ReserveSpend).where(ReserveSpend.proposal_id == proposal_id))


@dataclass(frozen=True)
class SpendLine:
    """A spending decision as the reserve page lists it."""

    spend: ReserveSpend
    proposal: Proposal
    vendor: str


def spends(session: Session) -> list[SpendLine]:
    """Every spending decision, newest first, with its proposal and payee."""
    rows = session.execute(
        select(ReserveSpend, Proposal, Vendor.name)
        .join(Proposal, Proposal.id == ReserveSpend.proposal_id)
        .join(Vendor, Vendor.id == ReserveSpend.vendor_id)
        .order_by(ReserveSpend.id.desc())
    ).all()
    return [SpendLine(s, p, v) for s, p, v in rows]
