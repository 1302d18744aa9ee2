"""The co-op's jobs: what each runs (the same service the CLI calls) and when it is due.

A job's `due(session, now)` names the slots due at `now`, computed from the database and
the clock alone, so any number of schedulers compute the same slots and the unique
`(job, slot)` row decides which one runs it. Only slots due *now* are named, so a schedule
that was down catches up once, not once per missed minute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation import rounds
from allocation.closing import close_and_publish
from allocation.models import Round, RoundStatus
from catalog import claims
from catalog.models import Claim
from market.billing import services as billing
from market.billing import webhooks
from market.clock import period_of
from market.dealballots.closing import close_ballot, due_ballots
from market.dealballots.models import DealBallot
from market.deals.models import Deal
from market.deals.settle_run import run_settle
from market.deals.states import Status
from market.jobs.calendar import (
    day_start,
    earliest,
    floor_minutes,
    minute_slot,
    next_day,
    next_month_start,
)
from market.jobs.files import FILE_JOBS
from market.jobs.notices import run_notices
from market.ledger.services import check_books
from market.members.models import Member, MemberStatus
from market.notifications.delivery import send_pending
from market.proposals.models import Proposal
from market.proposals.services import close_due
from market.reserve.jobs import settle_closed
from market.reserve.models import ReserveSpend, SpendStatus
from market.reserve.spending import due_spends
from market.webdb import database

# progress(phase) or progress(phase, percent): told between the job's transactions.
Progress = Callable[..., None]
Due = tuple[str, int | None]


@dataclass(frozen=True)
class Job:
    """A background job: its body, when it is due, and when it is next due."""

    name: str
    label: str
    cadence: str
    run: Callable[[Flask, int | None, datetime, Progress], str]
    due: Callable[[Session, datetime], list[Due]]
    next_at: Callable[[Session, datetime], datetime | None]
    max_attempts: int = 3


def _system_admin() -> Member:
    # The schedule acts for the co-op's admins (like the command line does).
    return Member(email="scheduler@localhost", display_name="the schedule", is_admin=True)


# ------------------------------------------------------------------ rounds


def _open_round(app: Flask, _target: int | None, now: datetime, _p: Progress) -> str:
    period = period_of(now)
    with database(app).transaction() as session:
        if session.scalar(select(Round.id).where(Round.period == period)) is not None:
            return f"The {period} round is already open."
        previous = session.scalar(select(Round).order_by(Round.period.desc()).limit(1))
        if previous is None:
            return "No round yet: an admin opens the first one."
        rnd = rounds.open_round(
            session, _system_admin(), period, previous.rule, None, previous.currency, now=now
        )
        return f"Opened the {period} round ({rnd.eligible_count} eligible), rule {rnd.rule}."


def _open_due(session: Session, now: datetime) -> list[Due]:
    period = period_of(now)
    latest = session.scalar(select(Round.period).order_by(Round.period.desc()).limit(1))
    if latest is None or latest >= period:
        return []
    busy = session.scalar(select(Round.id).where(Round.status.in_(rounds.ACTIVE_STATUSES)))
    return [] if busy is not None else [(period, None)]


def _open_next(session: Session, now: datetime) -> datetime | None:
    return now if _open_due(session, now) else next_month_start(now)


def _close_rounds(app: Flask, target: int | None, now: datetime, progress: Progress) -> str:
    db = database(app)
    with db.transaction() as session:
        ids = [target] if target is not None else [r for r, _ in _close_due(session, now)]
    done = []
    for rid in ids:
        with db.transaction() as session:
            rnd = rounds.get_round(session, int(rid))
            if rnd.status == RoundStatus.PUBLISHED:  # another run got there first
                done.append(f"round {rid}: already published")
                continue
        lease = timedelta(seconds=int(app.config.get("CLOSE_LEASE_SECONDS") or 15 * 60))
        report = close_and_publish(db, int(rid), now, progress, lease)
        done.append(f"round {rid}: {report.status}, {report.ballots} ballots")
    return "; ".join(done) or "No round was due to close."


def _close_due(session: Session, now: datetime) -> list[Due]:
    rows = session.execute(
        select(Round.id, Round.closes_at).where(
            Round.status.in_(rounds.ACTIVE_STATUSES), Round.closes_at <= now
        )
    ).all()
    return [(f"round-{rid}@{minute_slot(at)}", rid) for rid, at in rows]


def _close_next(session: Session, now: datetime) -> datetime | None:
    return session.scalar(select(func.min(Round.closes_at)).where(Round.status == RoundStatus.OPEN))


def _close_deal_ballots(app: Flask, target: int | None, now: datetime, _p: Progress) -> str:
    db = database(app)
    with db.transaction() as session:
        ids = [target] if target is not None else due_ballots(session, now)
    done = []
    for bid in ids:
        with db.transaction() as session:
            problems = check_books(session)
            if problems:
                raise RuntimeError("The books do not balance; not closing: " + "; ".join(problems))
            report = close_ballot(
                session,
                int(bid),
                currency=app.config["CURRENCY"],
                now=now,
                early=target is not None,
            )
            problems = check_books(session)
            if problems:  # raising rolls the whole close back
                raise RuntimeError("The books would not balance: " + "; ".join(problems))
        done.append(f"deal ballot {bid}: {report.status}, {report.ballots} ballots")
    return "; ".join(done) or "No deal ballot was due to close."


def _deal_ballots_due(session: Session, now: datetime) -> list[Due]:
    rows = session.execute(
        select(DealBallot.id, DealBallot.closes_at).where(
            DealBallot.status == "open", DealBallot.closes_at <= now
        )
    ).all()
    return [(f"deal-ballot-{bid}@{minute_slot(at)}", bid) for bid, at in rows]


def _deal_ballots_next(session: Session, now: datetime) -> datetime | None:
    return session.scalar(select(func.min(DealBallot.closes_at)).where(DealBallot.status == "open"))


# ------------------------------------------------------------------ dues and licences


def _lapse(app: Flask, _t: int | None, now: datetime, _p: Progress) -> str:
    with database(app).transaction() as session:
        count = billing.lapse_overdue(session, now)
    return f"Lapsed {count} member(s) whose grace period ended."


def _graces_passed(session: Session, now: datetime) -> datetime | None:
    return session.scalar(
        select(func.min(Member.grace_until)).where(
            Member.status == MemberStatus.PAST_DUE.value, Member.grace_until <= now
        )
    )


def _daily(now: datetime) -> Due:
    return (f"day:{day_start(now):%Y-%m-%d}", None)


def _lapse_due(session: Session, now: datetime) -> list[Due]:
    grace = _graces_passed(session, now)
    return [_daily(now)] + ([(f"grace:{minute_slot(grace)}", None)] if grace else [])


def _next_grace(session: Session, now: datetime) -> datetime | None:
    grace = session.scalar(
        select(func.min(Member.grace_until)).where(
            Member.status == MemberStatus.PAST_DUE.value, Member.grace_until > now
        )
    )
    return earliest(grace, next_day(now))


def _reclaim(app: Flask, _t: int | None, now: datetime, _p: Progress) -> str:
    with database(app).transaction() as session:
        ended = claims.reclaim(session, now)
    return f"Reclaimed {ended} licence(s) from members no longer in good standing."


def _reclaim_due(session: Session, now: datetime) -> list[Due]:
    first = session.scalar(
        select(func.min(Claim.id))
        .join(Member, Member.id == Claim.member_id)
        .where(Claim.released_at.is_(None), claims.lapsed_condition(now))  # type: ignore[arg-type]
    )
    return [_daily(now)] + ([(f"claim:{first}", None)] if first is not None else [])


def _replay(app: Flask, _t: int | None, _now: datetime, _p: Progress) -> str:
    with database(app).transaction() as session:
        count = webhooks.replay_parked(session, billing.settings())
    return f"Applied {count} parked event(s)."


def _every(minutes: int) -> Callable[[Session, datetime], list[Due]]:
    def due(_session: Session, now: datetime) -> list[Due]:
        return [(minute_slot(floor_minutes(now, minutes)), None)]

    return due


def _every_next(minutes: int) -> Callable[[Session, datetime], datetime | None]:
    def next_at(_session: Session, now: datetime) -> datetime | None:
        return floor_minutes(now, minutes) + timedelta(minutes=minutes)

    return next_at


# ------------------------------------------------------------------ deals, proposals, mail


def _settle(app: Flask, target: int | None, now: datetime, _p: Progress) -> str:
    run = run_settle(database(app), app.config, now, target)
    if run.failed:
        # Raised so the run is retried and then shown as failed; each deal that did
        # settle is committed on its own and settling it again books nothing.
        raise RuntimeError(" ".join(run.failed))
    return " ".join(run.lines) or "No deal was due."


def _settle_due(session: Session, now: datetime) -> list[Due]:
    ids = session.scalars(
        select(Deal.id).where(
            Deal.status == Status.ACCEPTED,
            Deal.settled_at.is_(None),
            Deal.ballot_id.is_(None),  # a deal ballot's close settles its deals
            (Deal.deadline.is_(None)) | (Deal.deadline <= now),
        )
    ).all()
    hourly = (f"hour:{minute_slot(floor_minutes(now, 60))}", None)
    return [hourly] + [(f"deal-{d}", d) for d in ids]


def _settle_next(session: Session, now: datetime) -> datetime | None:
    deadline = session.scalar(
        select(func.min(Deal.deadline)).where(
            Deal.status == Status.ACCEPTED, Deal.settled_at.is_(None), Deal.deadline > now
        )
    )
    return earliest(deadline, _every_next(60)(session, now))


def _proposals(app: Flask, _t: int | None, now: datetime, _p: Progress) -> str:
    with database(app).transaction() as session:
        titles = [p.title for p in close_due(session, now)]
    return f"{len(titles)} newly closed." + "".join(f" Closed: {t}." for t in titles)


def _proposals_due(session: Session, now: datetime) -> list[Due]:
    first = session.execute(
        select(Proposal.closes_at, Proposal.id)
        .where(Proposal.closes_at <= now, Proposal.close_noticed_at.is_(None))
        .order_by(Proposal.closes_at, Proposal.id)
        .limit(1)
    ).first()
    return [(f"{minute_slot(first[0])}#{first[1]}", None)] if first else []


def _proposals_next(session: Session, now: datetime) -> datetime | None:
    return session.scalar(
        select(func.min(Proposal.closes_at)).where(
            Proposal.closes_at > now, Proposal.close_noticed_at.is_(None)
        )
    )


def _reserve(app: Flask, target: int | None, now: datetime, _p: Progress) -> str:
    return " ".join(settle_closed(database(app), now, target))


def _reserve_due(session: Session, now: datetime) -> list[Due]:
    return [(f"spend-{sid}", sid) for sid in due_spends(session, now)]


def _reserve_next(session: Session, now: datetime) -> datetime | None:
    return session.scalar(
        select(func.min(Proposal.closes_at))
        .join(ReserveSpend, ReserveSpend.proposal_id == Proposal.id)
        .where(ReserveSpend.status == SpendStatus.PENDING, Proposal.closes_at > now)
    )


def _notices(app: Flask, _t: int | None, now: datetime, _p: Progress) -> str:
    with database(app).transaction() as session:
        return run_notices(session, now)


def _send(app: Flask, _t: int | None, _now: datetime, _p: Progress) -> str:
    report = send_pending(app)
    if report.failed:
        raise RuntimeError(
            f"{report.sent} sent, {len(report.failed)} failed: "
            + "; ".join(f"message {mid}: {err}" for mid, err in report.failed[:5])
        )
    return f"{report.sent} sent."


JOBS: dict[str, Job] = {
    job.name: job
    for job in [
        Job("rounds.open", "Open the month's round", "at the start of each month",
            _open_round, _open_due, _open_next),
        Job("rounds.close", "Close and publish rounds", "at each round's closing time",
            _close_rounds, _close_due, _close_next),
        Job("deal_ballots.close", "Close and publish deal ballots",
            "at each deal ballot's closing time",
            _close_deal_ballots, _deal_ballots_due, _deal_ballots_next),
        Job("dues.lapse", "Lapse members past grace", "daily and at grace deadlines",
            _lapse, _lapse_due, _next_grace),
        Job("licences.reclaim", "Reclaim lapsed members' licences",
            "daily and when a lapsed member holds a licence",
            _reclaim, _reclaim_due, _next_grace),
        Job("deals.settle", "Settle deals and group buys", "hourly and at group-buy deadlines",
            _settle, _settle_due, _settle_next),
        Job("proposals.close", "Close proposals", "at each proposal's closing time",
            _proposals, _proposals_due, _proposals_next),
        Job("reserve.settle", "Book passed reserve spending", "at each spending decision's close",
            _reserve, _reserve_due, _reserve_next),
        Job("notifications.notices", "Tell members about rounds and grace periods",
            "every 10 minutes", _notices, _every(10), _every_next(10)),
        Job("notifications.send", "Send emails", "every minute",
            _send, _every(1), _every_next(1)),
        Job("dues.replay", "Replay parked Stripe events", "every 5 minutes",
            _replay, _every(5), _every_next(5)),
        *(Job(*spec) for spec in FILE_JOBS),
    ]
}  # fmt: skip
