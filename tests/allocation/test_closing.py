"""Close and publish: tally from histograms, book exactly, publish an audit file that recounts."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocation import closing, recount, rounds, rules
from allocation.closing import close_and_publish
from allocation.histogram import RULES, weighted_histogram
from allocation.models import Ballot, Round, RoundResult
from allocation.rounds import class_weights, round_channels
from allocation.tally import counts_by_weight
from market.clock import next_period
from market.db import utcnow
from market.errors import Conflict
from market.ledger.models import LedgerTransaction
from market.ledger.services import balance, channel_code, pool_code
from market.webdb import database
from tests.allocation.factories import audit_copy, fund_pool, open_round, vote
from tests.market.factories import make_member

Login = Callable[..., FlaskClient]


def _random_split(rng: random.Random, ids: list[int]) -> dict[int, int]:
    chosen = rng.sample(ids, rng.randint(1, len(ids)))
    cuts = sorted(rng.randint(0, 10_000) for _ in range(len(chosen) - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]
    return dict(zip(chosen, parts, strict=True))


def _populated_round(
    session: Session, voters: int = 40, seed: int = 1, **kw: object
) -> tuple[Round, list]:
    members = [
        make_member(session, member_class="worker" if i % 5 == 0 else "consumer")
        for i in range(voters)
    ]
    rnd, chans = open_round(session, channels=4, **kw)  # type: ignore[arg-type]
    rng = random.Random(seed)
    ids = [c.id for c in chans]
    for m in members:
        vote(session, m, rnd, _random_split(rng, ids))
    return rnd, chans


def _refresh(session: Session, rnd: Round) -> Round:
    session.expire_all()
    fresh = session.get(Round, rnd.id)
    assert fresh is not None
    return fresh


@pytest.mark.parametrize("rule", list(RULES))
def test_histogram_tally_equals_the_per_ballot_tally(session: Session, rule: str) -> None:
    rnd, chans = _populated_round(session, voters=60, seed=7, rule=rule)
    admin = make_member(session, admin=True)
    rounds.set_class_weight(session, admin, rnd, "worker", 2500)
    ids = [c.id for c in round_channels(session, rnd.id)]
    hist = weighted_histogram(counts_by_weight(session, rnd.id, ids))
    assert hist is not None
    rows = session.execute(
        select(Ballot.member_class, Ballot.split).where(
            Ballot.round_id == rnd.id, Ballot.is_current
        )
    ).all()
    from allocation import splits

    bp = np.array([splits.dense(text, ids) for _c, text in rows], dtype=np.int64)
    w = class_weights(session, rnd.id)
    weights = np.array([w[c] / 1000 for c, _t in rows])
    per_ballot = {
        "independent_markets": rules.independent_markets,
        "consensus": rules.voter_media_consensus,
        "mean": rules.mean_split,
    }[rule](bp, weights)
    from_hist = RULES[rule](hist)
    assert np.allclose(per_ballot, from_hist, rtol=0, atol=1e-12)
    assert rules.apportion_cents(per_ballot, 135_000, ids) == rules.apportion_cents(
        from_hist, 135_000, ids
    )


def test_admin_closes_books_exactly_and_the_file_recounts(
    app: Flask, session: Session, login: Login, audit_dir: Path
) -> None:
    rnd, chans = _populated_round(session)
    fund_pool(session, rnd.period, 135_000)
    admin = make_member(session, admin=True)
    session.commit()
    resp = login(admin).post(f"/admin/rounds/{rnd.id}/close", data={"confirm": "early"})
    assert resp.status_code == 302 and f"/rounds/{rnd.id}/results" in resp.headers["Location"]
    rnd = _refresh(session, rnd)
    assert rnd.status == "published" and rnd.pool_cents == 135_000 and rnd.ballots_counted == 40
    results = session.scalars(select(RoundResult).where(RoundResult.round_id == rnd.id)).all()
    assert sum(r.cents for r in results) == 135_000 == sum(r.mean_cents for r in results)
    for r in results:
        assert balance(session, channel_code(r.channel_id)) == r.cents
    assert balance(session, pool_code(rnd.period)) == 0

    page = app.test_client().get(f"/rounds/{rnd.id}/results").get_data(as_text=True)
    assert rnd.audit_head is not None
    assert "<svg" in page and "Independent Markets" in page and rnd.audit_head in page
    assert "98 % (40 of 41 eligible members voted)" in page  # the opening admin did not vote

    with app.test_client().get(f"/rounds/{rnd.id}/audit.csv") as csv:
        assert csv.status_code == 200 and csv.mimetype == "text/csv"
        body = csv.get_data(as_text=True)
    path = audit_dir / "download.csv"
    path.write_text(body)
    assert "member" not in body.lower()
    receipts = [line.split(",")[0] for line in body.splitlines() if len(line.split(",")[0]) == 64]
    assert receipts == sorted(receipts) and len(receipts) == 40
    result = recount.recount(path)
    assert result.matches and result.audit.head == rnd.audit_head
    assert result.cents == [r.cents for r in sorted(results, key=lambda r: r.channel_id)]

    runner = app.test_cli_runner()
    out = runner.invoke(args=["rounds", "recount", str(path)])
    assert out.exit_code == 0, out.output
    assert "MATCH" in out.output and "Database: outcome matches, final hash matches" in out.output


def test_a_tampered_audit_file_is_caught(session: Session, app: Flask, audit_dir: Path) -> None:
    rnd, _ = _populated_round(session, voters=5)
    fund_pool(session, rnd.period, 10_000)
    session.commit()
    close_and_publish(database(app), rnd.id)
    path = audit_copy(session, rnd.id, audit_dir)
    lines = path.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if len(line.split(",")[0]) == 64)
    parts = lines[row].split(",")
    parts[1] = "5000"  # someone makes a ballot count five times
    lines[row] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(recount.AuditFileError, match="hash chain breaks"):
        recount.recount(path)


def test_a_ballot_after_the_close_is_refused_and_changes_nothing(
    session: Session, app: Flask, login: Login, audit_dir: Path
) -> None:
    late = make_member(session)
    rnd, chans = _populated_round(session, voters=5)
    session.commit()
    close_and_publish(database(app), rnd.id)
    data = {"round_id": str(rnd.id), f"share-{chans[0].id}": "100"}
    resp = login(late).post(f"/rounds/{rnd.id}/vote", data=data)
    assert resp.status_code == 409
    with pytest.raises(Conflict):
        vote(session, late, _refresh(session, rnd), {chans[0].id: 10_000})
    assert _refresh(session, rnd).ballots_counted == 5


def test_a_second_close_is_refused_while_one_runs(
    session: Session, app: Flask, audit_dir: Path
) -> None:
    rnd, _ = _populated_round(session, voters=3)
    rnd.close_lease_until = utcnow() + timedelta(minutes=5)  # another run holds the lease
    session.commit()
    with pytest.raises(Conflict, match="already running"):
        close_and_publish(database(app), rnd.id)
    assert _refresh(session, rnd).status == "open"


class Killed(BaseException):
    """The worker dies: nothing after this point of the close runs."""


def _kill_between(phase: str) -> Callable[[str], None]:
    def progress(now_starting: str) -> None:
        if now_starting == phase:
            raise Killed(f"killed before {phase}")

    return progress


def _kill_inside(monkeypatch: pytest.MonkeyPatch, phase: str) -> None:
    """Kill the worker after the phase did its work, before its transaction commits."""
    name = {"tally": "outcome", "book": "_book", "audit": "write_audit", "publish": "_books_ok"}
    real = getattr(closing, name[phase])

    def dying(*args: object, **kwargs: object) -> object:
        done = real(*args, **kwargs)
        if phase == "publish" and args[1] != "after":  # the books check of the claim
            return done
        raise Killed(f"killed inside {phase}")

    monkeypatch.setattr(closing, name[phase], dying)


@pytest.mark.parametrize("where", ["between", "inside"])
@pytest.mark.parametrize("phase", ["tally", "book", "audit", "publish"])
def test_a_close_killed_in_any_phase_resumes_without_booking_twice(
    session: Session,
    app: Flask,
    audit_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    phase: str,
    where: str,
) -> None:
    rnd, _ = _populated_round(session, voters=8)
    fund_pool(session, rnd.period, 50_000)
    session.commit()
    # A killed worker never releases its lease: the next run waits for it to expire.
    monkeypatch.setattr(closing, "_release", lambda *_a: None)
    progress = None
    if where == "between":
        progress = _kill_between(phase)
    else:
        _kill_inside(monkeypatch, phase)
    with pytest.raises(Killed):
        close_and_publish(database(app), rnd.id, progress=progress)
    monkeypatch.undo()
    assert _refresh(session, rnd).status != "published"
    with pytest.raises(Conflict, match="already running"):
        close_and_publish(database(app), rnd.id)
    seen: list[str] = []
    later = utcnow() + closing.LEASE + timedelta(minutes=1)
    report = close_and_publish(database(app), rnd.id, now=later, progress=seen.append)
    assert report.status == "published"
    assert seen == ["claim", "tally", "book", "audit", "publish"]
    keys = session.scalars(
        select(LedgerTransaction.key).where(LedgerTransaction.kind == "allocation")
    ).all()
    assert keys == [f"round:{rnd.id}:publish"]
    assert balance(session, pool_code(rnd.period)) == 0
    result = recount.recount(audit_copy(session, rnd.id, audit_dir))
    assert result.matches and result.audit.head == report.audit_head
    assert result.audit.ballots == 8
    with pytest.raises(Conflict, match="already closed"):
        close_and_publish(database(app), rnd.id)


def test_a_close_started_before_the_last_ballot_closes_after_it(
    session: Session, app: Flask, audit_dir: Path
) -> None:
    # A job's run starts (and reads `now`) a moment before its claim stops the voting; a
    # ballot accepted in between must still precede closed_at.
    rnd, _ = _populated_round(session, voters=3)
    fund_pool(session, rnd.period, 9_000)
    session.commit()
    started = utcnow() - timedelta(seconds=5)
    last = session.scalar(select(func.max(Ballot.cast_at)).where(Ballot.round_id == rnd.id))
    assert last is not None and last > started
    close_and_publish(database(app), rnd.id, now=started)
    closed = _refresh(session, rnd)
    assert closed.closed_at is not None and closed.closed_at >= last
    from allocation.invariants import no_ballot_after_close

    assert no_ballot_after_close(session) == []


def test_no_ballots_means_the_pool_carries_over(
    session: Session, app: Flask, audit_dir: Path
) -> None:
    make_member(session)
    rnd, _ = open_round(session)
    fund_pool(session, rnd.period, 20_000)
    session.commit()
    close_and_publish(database(app), rnd.id)
    assert balance(session, pool_code(next_period(rnd.period))) == 20_000
    page = app.test_client().get(f"/rounds/{rnd.id}/results").get_data(as_text=True)
    assert "No ballots were cast" in page and f"carries over to {next_period(rnd.period)}" in page
    path = audit_copy(session, rnd.id, audit_dir)
    assert recount.recount(path).matches


def test_cli_close_reports_where_the_time_went(session: Session, app: Flask) -> None:
    rnd, _ = _populated_round(session, voters=4)
    session.commit()
    out = app.test_cli_runner().invoke(args=["rounds", "close", rnd.period])
    assert out.exit_code == 0, out.output
    assert "published, 4 ballots" in out.output and "histogram" in out.output
    assert session.scalar(select(func.count()).select_from(RoundResult)) == 4
