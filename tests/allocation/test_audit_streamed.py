"""The close's audit file, streamed: ballots read ahead on a connection of their own while
the round is tallied, chunks stored by a thread, and still the very bytes the
one-connection path renders.

These tests run on a database of their own (the usual test connection would hide the
ballots from a second connection); on SQLite the close takes the one-connection path and
the same assertions hold.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from allocation import audit, audit_rows, closing, receipts, recount
from allocation.closing import close_and_publish
from allocation.models import Ballot, Round
from allocation.rounds import class_weights, set_class_weight
from market import filestore
from market.clock import utcnow
from market.db import Database, make_engine
from market.filestore import StoredChunk, StoredFile
from tests.allocation.factories import fund_pool, open_round, vote
from tests.market.factories import make_member


class Killed(BaseException):
    """The worker dies in the middle of the audit file."""


@pytest.fixture
def db(live_database: str) -> Iterator[Database]:
    engine = make_engine(live_database)
    yield Database(engine)
    engine.dispose()


def _round(db: Database, voters: int = 60) -> int:
    """A funded round with `voters` ballots of two classes, committed."""
    rng = random.Random(3)
    with db.transaction() as session:
        members = [
            make_member(session, member_class="worker" if i % 4 == 0 else "consumer")
            for i in range(voters)
        ]
        rnd, chans = open_round(session, channels=5)
        for member in members:
            picked = rng.sample([c.id for c in chans], rng.randint(1, 4))
            cuts = sorted(rng.sample(range(1, 10_000), len(picked) - 1))
            parts = [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]
            vote(session, member, rnd, dict(zip(picked, parts, strict=True)))
        # Two weights, so the file's weight column comes from the class.
        set_class_weight(session, make_member(session, admin=True), rnd, "worker", 2500)
        fund_pool(session, rnd.period, 123_457)
        return rnd.id


def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few rows, so many of them pass through the storing thread; pages of 7
    rows in blocks of 4, so blocks straddle pages."""
    monkeypatch.setattr(filestore, "CHUNK_BYTES", 700)
    monkeypatch.setattr(audit, "BLOCK_BYTES", 350)
    monkeypatch.setattr(audit, "BLOCK_ROWS", 4)
    monkeypatch.setattr(audit_rows, "PAGE_ROWS", 7)


def test_the_streamed_file_is_the_rendered_file_byte_for_byte(
    db: Database, backend: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _small_chunks(monkeypatch)
    round_id = _round(db)
    streamed: list[int] = []

    class Spied(audit_rows.Reader):
        def pages(self) -> Iterator[list[bytes]]:
            streamed.append(1)
            return super().pages()

    monkeypatch.setattr(closing, "Reader", Spied)
    report = close_and_publish(db, round_id)
    assert bool(streamed) == (backend == "postgresql")  # SQLite: the one-connection path
    with db.transaction() as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None and rnd.audit_head == report.audit_head
        stored = audit.stored_audit(session, rnd)
        assert stored is not None
        chunks = session.scalars(
            select(StoredChunk).where(StoredChunk.file_id == stored.id).order_by(StoredChunk.seq)
        ).all()
        assert len(chunks) > 5 and [c.seq for c in chunks] == list(range(len(chunks)))
        stored_bytes = filestore.read_all(session, stored.id)
        rendered, head = audit.render_audit(session, rnd)
        assert stored_bytes == rendered and head == rnd.audit_head
        assert stored.size == len(rendered) and stored.lines == rendered.count(b"\n")
        assert rnd.audit_rows == 60
        # Each row as Python writes it from the ballot (whichever way the database sent it).
        weights = class_weights(session, round_id)
        counted = session.scalars(
            select(Ballot)
            .where(Ballot.round_id == round_id, Ballot.is_current, ~Ballot.abstain)
            .order_by(Ballot.receipt)
        ).all()
        expected = [
            f"{b.receipt},{weights.get(b.member_class, 1000)},{b.split.replace(',', ' ')}"
            for b in counted
        ]
        lines = stored_bytes.decode().splitlines()
        body = lines[lines.index("receipt,weight_milli,split") + 1 : -1]
        rows = [line for line in body if not line.startswith("block,")]
        assert len(body) == len(rows) + 15  # a block line after every 4 rows, 60 rows
        assert rows == expected and any(" " in row for row in rows)
        assert {row.split(",")[1] for row in rows} == {"1000", "2500"}
        for ballot in session.scalars(select(Ballot).where(Ballot.round_id == round_id)):
            found = receipts.find_receipt(db, session, rnd, ballot.receipt or "")
            assert found is not None and found.line.startswith(ballot.receipt or "")
    path = tmp_path / "streamed.csv"
    path.write_bytes(stored_bytes)
    assert recount.recount(path).matches


def test_a_close_killed_while_streaming_leaves_no_file_and_resumes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch)
    round_id = _round(db)
    real = audit.sha256
    hashed = 0

    def dying(data: bytes) -> Any:
        nonlocal hashed
        hashed += 1
        if hashed == 10:  # the 10th of 15 blocks: chunks before it went to the storing thread
            raise Killed("killed in the middle of the audit file")
        return real(data)

    monkeypatch.setattr(audit, "sha256", dying)
    monkeypatch.setattr(closing, "_release", lambda *_a: None)
    with pytest.raises(Killed):
        close_and_publish(db, round_id)
    monkeypatch.setattr(audit, "sha256", real)
    with db.transaction() as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None and rnd.status == "closed" and not rnd.audit_head
        assert session.scalar(select(func.count()).select_from(StoredChunk)) == 0
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
    later = utcnow() + closing.LEASE + timedelta(minutes=1)
    report = close_and_publish(db, round_id, now=later)
    assert report.status == "published"
    with db.transaction() as session:
        rnd = session.get(Round, round_id)
        assert rnd is not None
        stored = audit.stored_audit(session, rnd)
        assert stored is not None
        assert filestore.read_all(session, stored.id) == audit.render_audit(session, rnd)[0]
