"""The acquisition reserve: its place on the ballot, its target, progress and public history.

The reserve is a channel of kind 'reserve' (catalog.models.ChannelKind), so it sits on the
monthly ballot beside the bundlers' channels and the rules, the audit file and the recount
treat it like any channel. What a round gives it is booked to its own account,
`reserve:acquisition` (allocation.closing), not to a channel payable: payouts and deals
draw on channel payables, so they cannot reach it. Money leaves it only by a decision
(market.reserve.spending). Flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.models import Channel, ChannelKind, Vendor
from market.clock import utcnow
from market.errors import Conflict, DomainError, Forbidden
from market.ledger.models import Account, LedgerTransaction, Posting
from market.ledger.services import ACQUISITION, balance
from market.members.models import Member
from market.money import Money
from market.reserve.models import ReserveSpend, ReserveTarget

NAME = "Acquisition reserve"
DESCRIPTION = (
    "The co-op's own savings to buy the next platform: what members vote here is kept, "
    "never paid out, and spent only by a decision the members pass with a quorum."
)
MAX_PURPOSE = 200


def _require_admin(actor: Member) -> None:
    if not actor.is_admin:
        raise Forbidden("Only admins can set up the acquisition reserve.")


def reserve_channel(session: Session) -> Channel | None:
    """The reserve's place on the ballot (None until an admin sets it up)."""
    return session.scalar(select(Channel).where(Channel.kind == ChannelKind.RESERVE.value))


def set_up(session: Session, actor: Member, on_ballot: bool = True) -> Channel:
    """Create the reserve's ballot entry if missing, and put it on (or take it off) the ballot.

    Rounds take the channels active when they open: a change shows from the next round.
    """
    _require_admin(actor)
    channel = reserve_channel(session)
    if channel is None:
        clash = session.scalar(select(Channel.id).where(Channel.name == NAME))
        if clash is not None:
            raise Conflict(f"A channel is already called {NAME!r}; rename it first.")
        channel = Channel(name=NAME, description=DESCRIPTION, kind=ChannelKind.RESERVE.value)
        session.add(channel)
    channel.active = on_ballot
    session.flush()
    return channel


def set_target(
    session: Session,
    actor: Member,
    target_cents: int,
    purpose: str,
    currency: str,
    now: datetime | None = None,
) -> ReserveTarget:
    """Set the public target (every change is kept and shown in the history)."""
    _require_admin(actor)
    if isinstance(target_cents, bool) or not isinstance(target_cents, int):
        raise DomainError("The target is an amount in whole cents.")
    if target_cents <= 0:
        raise DomainError("The target is a positive amount.")
    purpose = " ".join((purpose or "").split())
    if len(purpose) > MAX_PURPOSE:
        raise DomainError(f"The purpose can have at most {MAX_PURPOSE} characters.")
    row = ReserveTarget(
        target_cents=target_cents,
        currency=currency.lower(),
        purpose=purpose,
        set_by=actor.id,
        set_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def current_target(session: Session) -> ReserveTarget | None:
    """The latest target, if one was ever set."""
    return session.scalar(
        select(ReserveTarget).order_by(ReserveTarget.set_at.desc(), ReserveTarget.id.desc())
    )


@dataclass(frozen=True)
class Progress:
    """What the progress bar shows (templates do no arithmetic)."""

    balance_cents: int
    target_cents: int
    purpose: str
    on_ballot: bool

    @property
    def percent(self) -> int:
        """Whole percent of the target reached, capped at 100 (for the words beside the bar)."""
        if self.target_cents <= 0:
            return 0
        return min(100, self.balance_cents * 100 // self.target_cents)

    @property
    def bar_value(self) -> int:
        """The <progress> element's value: the balance, never past the target."""
        return max(0, min(self.balance_cents, self.target_cents))

    @property
    def to_go_cents(self) -> int:
        """What is still missing to the target."""
        return max(0, self.target_cents - self.balance_cents)


def progress(session: Session) -> Progress | None:
    """The reserve's balance against its target; None while there is no reserve."""
    channel = reserve_channel(session)
    if channel is None:
        return None
    target = current_target(session)
    return Progress(
        balance_cents=balance(session, ACQUISITION),
        target_cents=target.target_cents if target else 0,
        purpose=target.purpose if target else "",
        on_ballot=channel.active,
    )


@dataclass(frozen=True)
class HistoryLine:
    """One thing that happened to the reserve, for the public page."""

    at: datetime
    kind: str  # "in" (a round), "out" (a decision's transfer), "target", "decision"
    text: str
    cents: int  # signed change of the balance (0 for targets and decisions)
    balance_after: int | None  # running balance after a booked movement
    proposal_id: int | None = None


def history(session: Session) -> list[HistoryLine]:
    """Everything that moved or changed the reserve, newest first (three queries)."""
    moves = session.execute(
        select(
            LedgerTransaction.occurred_at,
            LedgerTransaction.id,
            LedgerTransaction.key,
            LedgerTransaction.memo,
            Posting.amount_cents,
        )
        .join(Posting, Posting.txn_id == LedgerTransaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.code == ACQUISITION)
        .order_by(LedgerTransaction.occurred_at, LedgerTransaction.id)
    ).all()
    lines: list[HistoryLine] = []
    running = 0
    for at, _id, key, memo, cents in moves:
        running += int(cents)
        pid = int(key.split(":")[1]) if key.startswith("decision:") else None
        kind = "in" if cents > 0 else "out"
        if key.startswith("round:"):  # the round's memo speaks of all channels
            memo = memo.split(":")[0] + ": voted in by the members"
        lines.append(HistoryLine(at, kind, memo, int(cents), running, pid))
    for target in session.scalars(select(ReserveTarget)):
        amount = Money(target.target_cents, target.currency).format()
        purpose = f" for {target.purpose}" if target.purpose else ""
        lines.append(
            HistoryLine(target.set_at, "target", f"Target set to {amount}{purpose}", 0, None)
        )
    rows = session.execute(
        select(ReserveSpend, Vendor.name).join(Vendor, Vendor.id == ReserveSpend.vendor_id)
    ).all()
    for spend, vendor in rows:
        if spend.status in ("not_passed", "refused") and spend.decided_at is not None:
            text = f"Not spent: a decision to pay {vendor} moved nothing. {spend.outcome or ''}"
            lines.append(
                HistoryLine(spend.decided_at, "decision", text.strip(), 0, None, spend.proposal_id)
            )
    return sorted(lines, key=lambda line: line.at, reverse=True)
