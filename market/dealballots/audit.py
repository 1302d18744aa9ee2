"""A deal ballot's published audit file: anonymous approvals under a hash chain.

No member ids; rows ordered by receipt so a row cannot be linked to who cast it. The file
is stored in the database (`market.filestore`) in the close's transaction, so every host
serves it at once. It is deterministic (a published ballot's votes and outcome never
change), so a ballot published before files lived in the database, or imported from an
archive, gets its file rebuilt and checked against the recorded final hash.
"""

from __future__ import annotations

import hashlib
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation.deal_recount import MAGIC, VERSION
from allocation.recount import chain_start
from market import csvsafe, filestore
from market.db import Database
from market.dealballots.models import DealBallot, DealBallotCandidate, DealBallotVote
from market.errors import Conflict
from market.filestore import StoredFile

INCREMENT_UNIT = 1  # Add1U: one currency unit per voter, in minor units (see increment_of)


def audit_name(ballot: DealBallot) -> str:
    """The stored file's name (one per ballot; the ballot row keeps its final hash)."""
    return f"audit/deal-ballot-{ballot.id}.csv"


def download_name(ballot: DealBallot) -> str:
    """The name a download is saved under."""
    return f"softcoop-deal-ballot-{ballot.id}.csv"


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


def render_audit(lines: list[str], rows: list[tuple[str, str]]) -> tuple[bytes, str]:
    """Header + (receipt, approvals) rows with the chain: the file's bytes and final hash."""
    prev = chain_start(lines)
    sha256 = hashlib.sha256
    out = ["\n".join(lines), "\n"]
    for receipt, approvals in rows:
        row = f"{receipt},{approvals}"
        prev = sha256(f"{prev}\n{row}".encode()).hexdigest()  # = recount.chain_next
        out.append(f"{row},{prev}\n")
    out.append(f"end,{prev}\n")
    return "".join(out).encode("utf-8"), prev


def write_audit(
    session: Session, lines: list[str], rows: list[tuple[str, str]], ballot: DealBallot
) -> str:
    """Store the ballot's audit file (in the caller's transaction); its final hash."""
    data, head = render_audit(lines, rows)
    filestore.put(session, audit_name(ballot), data)
    return head


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


def stored_audit(session: Session, ballot: DealBallot) -> StoredFile | None:
    """The published ballot's audit file in the store (None if it was never stored)."""
    assert ballot.audit_head, "only published ballots have an audit file"
    return filestore.find(session, audit_name(ballot))


def store_missing_audit(db: Database, ballot_id: int) -> None:
    """Rebuild and store the audit file of a ballot whose file is not in the store.

    Kept only if its final hash is the published one. Its own transaction, on the primary.
    """
    with db.transaction() as session:
        ballot = session.get(DealBallot, ballot_id)
        assert ballot is not None and ballot.audit_head
        if filestore.find(session, audit_name(ballot)) is not None:
            return
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
        data, head = render_audit(lines, rows)
        if head == ballot.audit_head:
            filestore.put(session, audit_name(ballot), data)
            return
    raise Conflict(
        f"The audit file of deal ballot {ballot_id} cannot be rebuilt to its published final "
        "hash: the database no longer holds what was published. Tell the co-op's admins."
    )


def ensure_stored(db: Database, session: Session, ballot: DealBallot) -> StoredFile:
    """The ballot's stored audit file, rebuilt first if it is missing (read through `session`,
    which may be a replica's)."""
    assert ballot.audit_head, "only published ballots have an audit file"
    return filestore.ensure(session, audit_name(ballot), lambda: store_missing_audit(db, ballot.id))


def increment_of(currency: str) -> int:
    """Add1U's step: one unit of the currency per voter, in minor units (USD 100, JPY 1)."""
    from market.money import precision

    return INCREMENT_UNIT * 10 ** precision(currency)
