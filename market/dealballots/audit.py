"""A deal ballot's published audit file: anonymous approvals under a hash chain.

No member ids; rows ordered by receipt so a row cannot be linked to who cast it. The file
is deterministic (a published ballot's votes and outcome never change), so any host can
regenerate a missing copy and check it against the recorded final hash.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation.deal_recount import MAGIC, VERSION
from allocation.recount import chain_start
from market import csvsafe
from market.dealballots.models import DealBallot, DealBallotCandidate, DealBallotVote

INCREMENT_UNIT = 1  # Add1U: one currency unit per voter, in minor units (see increment_of)


def audit_dir(config: Mapping[str, Any]) -> Path:
    """Where deal ballot audit files are kept: AUDIT_DIR, or instance/audit."""
    from market.config import INSTANCE

    return Path(config.get("AUDIT_DIR") or INSTANCE / "audit")


def audit_path(audit_dir: Path, ballot: DealBallot, head: str) -> Path:
    """Where a ballot's audit file lives (the final hash in the name)."""
    return audit_dir / f"deal-ballot-{ballot.id}-{head[:16]}.csv"


def header(
    ballot: DealBallot, candidates: list[DealBallotCandidate], increment: int, ballots: int
) -> list[str]:
    """The header lines: the ballot, its rule and budget, and each deal's published outcome."""
    rows: list[list[object]] = [
        [MAGIC, VERSION],
        ["ballot", ballot.id],
        ["title", ballot.title],
        ["rule", ballot.rule],
        ["currency", ballot.currency],
        ["budget_cents", ballot.budget_used_cents or 0],
        ["increment_cents", increment],
    ]
    rows += [
        [
            "deal",
            c.deal_id,
            c.title,
            c.cost_cents,
            c.approvals or 0,
            int(bool(c.funded)),
            int(bool(c.greedy_funded)),
        ]
        for c in candidates
        if c.approvals is not None  # deals withdrawn before the close were not in the count
    ]
    rows.append(["ballots", ballots])
    rows.append(["receipt", "approvals", "chain"])
    buf = io.StringIO()
    csvsafe.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().rstrip("\n").split("\n")


def write_audit(
    path_dir: Path, lines: list[str], rows: list[tuple[str, str]], ballot: DealBallot
) -> str:
    """Write header + (receipt, approvals) rows with the chain, atomically; the final hash."""
    prev = chain_start(lines)
    sha256 = hashlib.sha256
    out = ["\n".join(lines), "\n"]
    for receipt, approvals in rows:
        row = f"{receipt},{approvals}"
        prev = sha256(f"{prev}\n{row}".encode()).hexdigest()  # = recount.chain_next
        out.append(f"{row},{prev}\n")
    out.append(f"end,{prev}\n")
    path_dir.mkdir(parents=True, exist_ok=True)
    tmp = path_dir / f"deal-ballot-{ballot.id}.tmp{os.getpid()}-{secrets.token_hex(4)}"
    tmp.write_text("".join(out), encoding="utf-8")
    os.replace(tmp, audit_path(path_dir, ballot, prev))
    return prev


def counted_rows(
    session: Session, ballot: DealBallot, drop: set[int]
) -> tuple[list[tuple[str, str]], list[tuple[str, ...]]]:
    """(receipt, approvals of deals still in the count) by receipt, empty rows left out;
    and each row's approvals as a tuple of ids (the rule's ballots)."""
    result = session.connection().execute(
        select(DealBallotVote.receipt, DealBallotVote.approvals)
        .where(DealBallotVote.ballot_id == ballot.id)
        .order_by(DealBallotVote.receipt)
    )
    # The driver's own tuples (two text columns, nothing to convert): SQLAlchemy's rows
    # cost twice the fetch for the ~33,000 rows of the deal ballot bench.
    everything: list[tuple[str, str]] = list(result.cursor.fetchall())
    result.close()
    if not drop:  # the usual case: every deal is still in the count
        return everything, [tuple(a.split()) for _r, a in everything]
    gone = {str(d) for d in drop}
    rows: list[tuple[str, str]] = []
    ballots: list[tuple[str, ...]] = []
    for receipt, approvals in everything:
        ids = tuple(d for d in approvals.split() if d not in gone)
        if ids:
            rows.append((receipt, " ".join(ids)))
            ballots.append(ids)
    return rows, ballots


def ensure_audit_file(session: Session, ballot: DealBallot, audit_dir: Path) -> Path:
    """The ballot's audit file, regenerated from the database if this host lacks it."""
    assert ballot.audit_head, "only published ballots have an audit file"
    path = audit_path(audit_dir, ballot, ballot.audit_head)
    if path.exists():
        return path
    candidates = list(
        session.scalars(
            select(DealBallotCandidate)
            .where(DealBallotCandidate.ballot_id == ballot.id)
            .order_by(DealBallotCandidate.deal_id)
        )
    )
    drop = {c.deal_id for c in candidates if c.approvals is None}
    rows, _ballots = counted_rows(session, ballot, drop)
    lines = header(ballot, candidates, increment_of(ballot.currency), len(rows))
    head = write_audit(audit_dir, lines, rows, ballot)
    if head != ballot.audit_head:
        audit_path(audit_dir, ballot, head).unlink()
        raise RuntimeError(f"regenerated audit file of deal ballot {ballot.id} does not match")
    return path


def increment_of(currency: str) -> int:
    """Add1U's step: one unit of the currency per voter, in minor units (USD 100, JPY 1)."""
    from market.money import precision

    return INCREMENT_UNIT * 10 ** precision(currency)
