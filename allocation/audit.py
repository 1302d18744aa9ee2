"""The published audit file of a round: anonymous ballots under a hash chain.

No member ids, and rows ordered by receipt (not by id or time), so a row cannot be linked
to who cast it; each member can find their own receipt. Writing is deterministic: the
same round always gives the same bytes, so any host can regenerate a missing file.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from pathlib import Path

from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from allocation import splits
from allocation.models import Ballot, Round, RoundResult
from allocation.recount import MAGIC, VERSION, chain_next, chain_start
from allocation.rounds import class_weights, round_channels


def audit_path(audit_dir: Path, rnd: Round, head: str) -> Path:
    """Where a round's audit file lives (the final hash in the name: no stale copies served)."""
    return audit_dir / f"round-{rnd.id}-{rnd.period}-{head[:16]}.csv"


def _header(session: Session, rnd: Round) -> tuple[list[str], list[int]]:
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
    rows.append(["receipt", "weight_milli", *[f"bp_{c.id}" for c in channels], "chain"])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().rstrip("\n").split("\n"), [c.id for c in channels]


def write_audit(session: Session, rnd: Round, audit_dir: Path) -> tuple[str, int]:
    """Write the round's audit file atomically; returns (final chain hash, ballot rows)."""
    header, channel_ids = _header(session, rnd)
    weights = class_weights(session, rnd.id)
    prev = chain_start(header)
    dense_cache: dict[str, str] = {}
    audit_dir.mkdir(parents=True, exist_ok=True)
    tmp = audit_dir / f"round-{rnd.id}.tmp{os.getpid()}-{secrets.token_hex(4)}"
    count = 0
    rows = session.execute(
        select(Ballot.receipt, Ballot.member_class, Ballot.split)
        .where(Ballot.round_id == rnd.id, Ballot.is_current, not_(Ballot.abstain))
        .order_by(Ballot.receipt)
        .execution_options(yield_per=20_000)
    )
    with tmp.open("w", encoding="utf-8", newline="") as out:
        out.write("\n".join(header) + "\n")
        chunk: list[str] = []
        for receipt, member_class, split in rows:
            bp = dense_cache.get(split)
            if bp is None:
                bp = ",".join(map(str, splits.dense(split, channel_ids)))
                dense_cache[split] = bp
            row = f"{receipt},{weights.get(member_class, 1000)},{bp}"
            prev = chain_next(prev, row)
            chunk.append(f"{row},{prev}\n")
            count += 1
            if len(chunk) >= 10_000:
                out.write("".join(chunk))
                chunk.clear()
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
