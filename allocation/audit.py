"""The published audit file of a round: anonymous ballots under a hash chain.

No member ids, and rows ordered by receipt (not by id or time), so a row cannot be linked
to who cast it; each member can find their own receipt. Writing is deterministic: the
same round always gives the same bytes, so any host can regenerate a missing file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import secrets
from pathlib import Path

from sqlalchemy import not_, select, text
from sqlalchemy.orm import Session

from allocation.models import Ballot, Round, RoundResult
from allocation.recount import MAGIC, VERSION, chain_start
from allocation.rounds import class_weights, round_channels


def audit_path(audit_dir: Path, rnd: Round, head: str) -> Path:
    """Where a round's audit file lives (the final hash in the name: no stale copies served)."""
    return audit_dir / f"round-{rnd.id}-{rnd.period}-{head[:16]}.csv"


def _header(session: Session, rnd: Round) -> list[str]:
    channels = round_channels(session, rnd.id)
    results = {
        r.channel_id: r.cents
        for r in session.scalars(select(RoundResult).where(RoundResult.round_id == rnd.id))
    }
    rows: list[list[object]] = [
        [MAGIC, VERSION],
        ["round", rnd.id],
        ["period", rnd.period],
        ["rule", rnd.rule],
        ["currency", rnd.currency],
        ["pool_cents", rnd.pool_cents or 0],
    ]
    rows += [["weight", cls, w] for cls, w in sorted(class_weights(session, rnd.id).items())]
    rows += [["channel", c.id, c.name, results.get(c.id, 0)] for c in channels]
    rows.append(["ballots", rnd.ballots_counted or 0])
    # One column for the split: "channel_id:bp" pairs separated by spaces, channels left out
    # got 0. Sparse keeps the file small and the write fast (it is the stored canonical text).
    rows.append(["receipt", "weight_milli", "split", "chain"])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().rstrip("\n").split("\n")


def write_audit(session: Session, rnd: Round, audit_dir: Path) -> tuple[str, int]:
    """Write the round's audit file atomically; returns (final chain hash, ballot rows)."""
    header = _header(session, rnd)
    weights = class_weights(session, rnd.id)
    prev = chain_start(header)
    audit_dir.mkdir(parents=True, exist_ok=True)
    tmp = audit_dir / f"round-{rnd.id}.tmp{os.getpid()}-{secrets.token_hex(4)}"
    count = 0
    if session.get_bind().dialect.name == "postgresql":
        # Sort a million receipts in memory rather than in temporary files (this transaction).
        session.execute(text("SET LOCAL work_mem = '256MB'"))
    # Core rows streamed in batches: the ORM's per-row cost shows at a million ballots.
    result = session.connection().execute(
        select(Ballot.receipt, Ballot.member_class, Ballot.split)
        .where(Ballot.round_id == rnd.id, Ballot.is_current, not_(Ballot.abstain))
        .order_by(Ballot.receipt)
        .execution_options(stream_results=True, yield_per=50_000)
    )
    sha256 = hashlib.sha256
    with tmp.open("w", encoding="utf-8", newline="") as out:
        out.write("\n".join(header) + "\n")
        for batch in result.partitions():
            chunk: list[str] = []
            for receipt, member_class, split in batch:
                row = f"{receipt},{weights.get(member_class, 1000)},{split.replace(',', ' ')}"
                prev = sha256(f"{prev}\n{row}".encode()).hexdigest()  # = recount.chain_next
                chunk.append(f"{row},{prev}\n")
            count += len(chunk)
            out.write("".join(chunk))
        out.write(f"end,{prev}\n")
    os.replace(tmp, audit_path(audit_dir, rnd, prev))
    return prev, count


def ensure_audit_file(session: Session, rnd: Round, audit_dir: Path) -> Path:
    """The round's audit file, regenerated from the database if this host lacks it."""
    assert rnd.audit_head, "only published rounds have an audit file"
    path = audit_path(audit_dir, rnd, rnd.audit_head)
    if not path.exists():
        head, _rows = write_audit(session, rnd, audit_dir)
        if head != rnd.audit_head:
            audit_path(audit_dir, rnd, head).unlink()
            raise RuntimeError(f"regenerated audit file of round {rnd.id} does not match")
    return path
