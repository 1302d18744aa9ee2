"""Close and publish a round: one job, at most one run at a time, resumable after a crash.

Like Liberapay's payday: the round row is claimed with a lease (a second run is refused
while it lives), `status` is the stage (open → closing → closed → published) so a rerun
picks up where a crashed run stopped, the booking is keyed `round:<id>:publish` so it
happens once, and the books are checked before and after.

Five phases, each in its own transaction: claim, tally (→ closed), book (the keyed
transaction: a rerun books nothing), audit (the file into the database's store, with its
final hash on the round) and publish (→ published, the books checked). A run killed in any
of them leaves that phase undone and the phases before it done; the rerun skips those.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, insert, or_, select, text, update
from sqlalchemy.orm import Session

from allocation.audit import record_channel_names, write_audit
from allocation.audit_rows import Reader
from allocation.histogram import outcome, weighted_histogram
from allocation.models import Round, RoundResult, RoundStatus
from allocation.rounds import class_weights, round_channels
from allocation.tally import ballots_by_class, census, counts_by_weight
from catalog.models import Channel, ChannelKind
from market.clock import next_period
from market.db import Database, utcnow
from market.errors import Conflict, DomainError, NotFound
from market.ledger.accounts import ACQUISITION, balance, channel_code, pool_code
from market.ledger.checks import check_books
from market.ledger.services import Move, post

LEASE = timedelta(minutes=15)
EARLY_PAGES = 40  # audit pages (~120 MB at most) read ahead while the round is tallied


@dataclass
class CloseReport:
    """What a close did, with where the time went (seconds per step)."""

    round_id: int
    status: str = ""
    pool_cents: int = 0
    ballots: int = 0
    audit_head: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def close_and_publish(
    db: Database,
    round_id: int,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    lease: timedelta = LEASE,
) -> CloseReport:
    """Run (or resume) the close of a round through to publication (`now`: when it happens).

    `progress(phase)` is told each phase as it starts (claim, tally, book, audit, publish),
    always between transactions, so it may write in a transaction of its own even on SQLite.
    `lease`: how long the claim keeps a second run away (a crashed run's is taken up after).
    """
    step = progress or (lambda _phase: None)
    report = CloseReport(round_id=round_id)
    step("claim")
    token = _claim(db, round_id, now or utcnow(), report, lease)
    try:
        with _early_reader(db, round_id) as reader:
            step("tally")
            _tally(db, round_id, report, now, reader)
            step("book")
            _book_phase(db, round_id, report)
            step("audit")
            _audit_phase(db, round_id, report, reader)
        step("publish")
        _publish(db, round_id, report, now)
    finally:
        _release(db, round_id, token)
    return report


def _early_reader(db: Database, round_id: int) -> AbstractContextManager[Reader | None]:
    """PostgreSQL: start reading the audit file's rows now, while the database tallies.

    After the claim no ballot changes, so the rows can be read before the file's header
    (which prints the tally's outcome) is known; up to EARLY_PAGES pages wait in memory.
    Nothing to read ahead when the file is written already, or on a connection-bound
    database (a second connection would not see its uncommitted ballots).
    """
    with db.transaction() as session:
        bind = session.get_bind()
        rnd = session.get(Round, round_id)
        if (
            not isinstance(bind, Engine)
            or bind.dialect.name != "postgresql"
            or rnd is None
            or rnd.audit_head
            or rnd.status not in (RoundStatus.CLOSING, RoundStatus.CLOSED)
        ):
            return nullcontext()
        return Reader(bind, round_id, class_weights(session, round_id), ahead=EARLY_PAGES)


def _timed(report: CloseReport, step: str, started: float) -> float:
    now = time.perf_counter()
    report.timings[step] = report.timings.get(step, 0.0) + now - started
    return now


def _books_ok(session: Session, when: str) -> None:
    problems = check_books(session)
    if problems:
        raise DomainError(f"The books do not balance {when} the close: " + "; ".join(problems))


def _claim(
    db: Database, round_id: int, now: datetime, report: CloseReport, lease: timedelta = LEASE
) -> str:
    """Take the lease and stop voting (the UPDATE waits for ballots being written)."""
    started = time.perf_counter()
    token = secrets.token_hex(16)
    with db.transaction() as session:
        result = session.execute(
            update(Round)
            .where(
                Round.id == round_id,
                Round.status != RoundStatus.PUBLISHED,
                or_(Round.close_lease_until.is_(None), Round.close_lease_until < now),
            )
            .values(close_lease_until=now + lease, close_token=token)
            .execution_options(synchronize_session=False)
        )
        claimed = cast(CursorResult[Any], result).rowcount
        rnd = session.scalar(
            select(Round).where(Round.id == round_id).execution_options(populate_existing=True)
        )
        if rnd is None:
            raise NotFound("There is no such round.")
        if not claimed:
            if rnd.status == RoundStatus.PUBLISHED:
                raise Conflict(f"The {rnd.period} round is already closed and published.")
            raise Conflict(
                f"A close of the {rnd.period} round is already running; "
                "wait for it to finish (or for its lease to expire after a crash)."
            )
        _books_ok(session, "before")
        if rnd.status == RoundStatus.OPEN:
            _refuse_void_weights(session, rnd)
            rnd.status = RoundStatus.CLOSING.value
            rnd.close_started_at = now
    _timed(report, "claim", started)
    return token


def _refuse_void_weights(session: Session, rnd: Round) -> None:
    """Ballots were cast but the weights count none of them: say so while it can be fixed."""
    weights = class_weights(session, rnd.id)
    if all(w > 0 for w in weights.values()):
        return  # every class counts (an unlisted one weighs 1000): no need to count ballots
    cast_by_class = ballots_by_class(session, rnd.id)
    if not cast_by_class or any(weights.get(c, 1000) > 0 for c in cast_by_class):
        return
    raise DomainError(
        f"{sum(cast_by_class.values())} ballots were cast, all by classes weighted 0, so "
        "none would count. Change the class weights before closing."
    )


def _release(db: Database, round_id: int, token: str) -> None:
    with db.transaction() as session:
        session.execute(
            update(Round)
            .where(Round.id == round_id, Round.close_token == token)
            .values(close_lease_until=None, close_token=None)
            .execution_options(synchronize_session=False)
        )


def _tally(
    db: Database,
    round_id: int,
    report: CloseReport,
    now: datetime | None,
    reader: Reader | None = None,
) -> None:
    """closing → closed: read the pool, tally histograms with the rule, store the outcome
    (`reader`: the census comes from there, read meanwhile on another connection)."""
    with db.transaction() as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None
        if rnd.status != RoundStatus.CLOSING:
            return
        started = time.perf_counter()
        if session.get_bind().dialect.name == "postgresql":
            # The tally sorts up to channels × 10,000 × classes groups: in memory, not on disk;
            # and its few big statements run sooner than PostgreSQL's JIT compiles them.
            session.execute(text("SET LOCAL work_mem = '64MB'"))
            session.execute(text("SET LOCAL jit = off"))
        channel_ids = [c.id for c in round_channels(session, rnd.id)]
        pool = balance(session, pool_code(rnd.period))
        # Who voted, by class, and when the last ballot came: read beside the tally if it can.
        take_census = (
            reader.census if reader is not None else cache(partial(census, session, rnd.id))
        )
        counts = counts_by_weight(session, rnd.id, channel_ids, lambda: take_census()[0])
        last = take_census()[1]
        started = _timed(report, "histogram", started)
        hist = weighted_histogram(counts)
        rnd.pool_cents = max(pool, 0)
        rnd.ballots_counted = int(sum(int(c[0].sum()) for c in counts.values()))
        if hist is not None:
            out = outcome(rnd.rule, hist, rnd.pool_cents, channel_ids)
            session.execute(
                insert(RoundResult),
                [
                    {
                        "round_id": rnd.id,
                        "channel_id": cid,
                        "share": s,
                        "cents": c,
                        "mean_share": ms,
                        "mean_cents": mc,
                    }
                    for cid, s, c, ms, mc in zip(
                        out.channel_ids,
                        out.shares,
                        out.cents,
                        out.mean_shares,
                        out.mean_cents,
                        strict=True,
                    )
                ],
            )
        rnd.status = RoundStatus.CLOSED.value
        # Every ballot accepted before the claim precedes closed_at. The clock is read after
        # the claim, but a job passes the moment its run started, which may come before a
        # ballot the claim still let in (the cluster drill found one): never close earlier.
        closed = now or utcnow()
        rnd.closed_at = max(closed, last) if last is not None else closed
        _timed(report, "rule", started)


def _book(session: Session, rnd: Round) -> None:
    """pool → channel payables per the outcome; no ballots → the pool carries to next month."""
    pool = rnd.pool_cents or 0
    if pool == 0:
        return  # nothing to book
    results = session.scalars(select(RoundResult).where(RoundResult.round_id == rnd.id)).all()
    source = pool_code(rnd.period)
    if results:
        # The acquisition reserve's part is kept in its own account, not a channel payable
        # (payouts and deals draw on payables, so they never reach it).
        reserve = set(
            session.scalars(select(Channel.id).where(Channel.kind == ChannelKind.RESERVE.value))
        )
        moves = [
            Move(
                source,
                ACQUISITION if r.channel_id in reserve else channel_code(r.channel_id),
                r.cents,
            )
            for r in results
            if r.cents
        ]
        memo = f"Round {rnd.period}: pool split among channels"
        key = f"round:{rnd.id}:publish"
        post(session, key, "allocation", memo, moves, rnd.currency, period=rnd.period)
    else:
        target = pool_code(next_period(rnd.period))
        memo = f"Round {rnd.period}: no ballots, pool carries over to {next_period(rnd.period)}"
        post(
            session,
            f"round:{rnd.id}:carry",
            "carry",
            memo,
            [Move(source, target, pool)],
            rnd.currency,
            period=rnd.period,
        )


def _book_phase(db: Database, round_id: int, report: CloseReport) -> None:
    """Book the outcome (keyed by the round: a rerun after a crash books nothing twice)."""
    with db.transaction() as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None
        if rnd.status == RoundStatus.CLOSED:
            started = time.perf_counter()
            _book(session, rnd)
            _timed(report, "book", started)


def _audit_phase(
    db: Database, round_id: int, report: CloseReport, reader: Reader | None = None
) -> None:
    """Write the audit file into the file store, once (a rerun finds it written);
    `reader`: its rows, read ahead."""
    with db.transaction() as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None
        if rnd.status == RoundStatus.CLOSED and not rnd.audit_head:
            started = time.perf_counter()
            record_channel_names(session, rnd)
            rnd.audit_head, rnd.audit_rows = write_audit(session, rnd, reader=reader)
            _timed(report, "audit", started)


def _publish(db: Database, round_id: int, report: CloseReport, now: datetime | None) -> None:
    """closed → published: check the books and show the results."""
    with db.transaction() as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None
        if rnd.status == RoundStatus.CLOSED:
            started = time.perf_counter()
            if not rnd.audit_head:  # cannot happen after _audit_phase; never publish without
                raise DomainError(f"The {rnd.period} round has no audit file yet.")
            rnd.status = RoundStatus.PUBLISHED.value
            rnd.published_at = now or utcnow()
            _books_ok(session, "after")
            _timed(report, "check", started)
        report.status = rnd.status
        report.pool_cents = rnd.pool_cents or 0
        report.ballots = rnd.ballots_counted or 0
        report.audit_head = rnd.audit_head or ""
