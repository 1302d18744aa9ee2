"""Receipts that last: a member's receipts, and finding a receipt in a published audit file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, not_, select
from sqlalchemy.orm import Session

from allocation import splits
from allocation.audit import ensure_audit_file
from allocation.models import Ballot, Round, RoundStatus
from catalog.models import Channel

RECEIPT_LENGTH = 64


@dataclass(frozen=True)
class Found:
    """Where a receipt stands in a round's audit file (the number only when asked for)."""

    line_number: int | None
    line: str


@dataclass(frozen=True)
class MyReceipt:
    """One round the member voted in: their receipt, what it recorded, and the file's word."""

    round: Round
    ballot_id: int
    receipt: str
    salt: str | None
    split_text: str
    split: list[tuple[str, str]]  # (channel name, percentage)
    carried_over: bool
    found: Found | None


def well_formed(receipt: str) -> bool:
    """Whether a string can be a receipt (64 lowercase hex digits)."""
    return len(receipt) == RECEIPT_LENGTH and all(c in "0123456789abcdef" for c in receipt)


def _header_end(handle) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Byte offset of the first ballot row and the number of header lines."""
    count = 0
    while True:
        line = handle.readline()
        if not line:
            raise ValueError("not an audit file: no ballot columns row")
        count += 1
        if line.startswith(b"receipt,"):
            return handle.tell(), count


def _line_from(handle, offset: int, body: int) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    """The first whole line starting at or after `offset` (a line always starts at `body`)."""
    if offset > body:
        handle.seek(offset - 1)
        handle.readline()
    else:
        handle.seek(body)
    return handle.tell(), handle.readline()


def find_in_file(path: Path, receipt: str) -> tuple[int, str] | None:
    """Binary search of the file's rows (sorted by receipt): (byte offset, line) or None."""
    target = receipt.encode()
    with path.open("rb") as handle:
        body, _ = _header_end(handle)
        lo, hi = body, path.stat().st_size
        while lo < hi:
            start, line = _line_from(handle, (lo + hi) // 2, body)
            key = line[:RECEIPT_LENGTH]
            if start >= hi or not line or line.startswith(b"end,"):
                hi = (lo + hi) // 2 if start >= hi else start
            elif key < target:
                lo = start + len(line)
            elif key > target:
                hi = start
            else:
                return start, line.decode().rstrip("\r\n")
    return None


def header_lines(path: Path) -> int:
    """How many header lines precede the first ballot row."""
    with path.open("rb") as handle:
        return _header_end(handle)[1]


def find_receipt(session: Session, rnd: Round, audit_dir: Path, receipt: str) -> Found | None:
    """Where a receipt is in a published round's audit file (None if it is not there)."""
    path = ensure_audit_file(session, rnd, audit_dir)
    hit = find_in_file(path, receipt)
    if hit is None:
        return None
    # Rows are ordered by receipt, so the rows before this one are the smaller receipts.
    before = session.scalar(
        select(func.count())
        .select_from(Ballot)
        .where(
            Ballot.round_id == rnd.id,
            Ballot.is_current,
            not_(Ballot.abstain),
            Ballot.receipt < receipt,
        )
    )
    return Found(header_lines(path) + (before or 0) + 1, hit[1])


def my_receipts(session: Session, member_id: int, audit_dir: Path) -> list[MyReceipt]:
    """Every round the member voted in, newest first, each checked against its audit file."""
    rows = session.execute(
        select(Ballot, Round)
        .join(Round, Round.id == Ballot.round_id)
        .where(Ballot.member_id == member_id, Ballot.is_current, not_(Ballot.abstain))
        .order_by(Round.period.desc())
    ).all()
    names = {cid: name for cid, name in session.execute(select(Channel.id, Channel.name))}
    out = []
    for ballot, rnd in rows:
        found = None
        if rnd.status == RoundStatus.PUBLISHED and ballot.receipt:
            # Found in the file by binary search, but not numbered: the number costs a count
            # per round (a statement per month of history); the find page, one round, gives it.
            hit = find_in_file(ensure_audit_file(session, rnd, audit_dir), ballot.receipt)
            found = Found(None, hit[1]) if hit else None
        split = [
            (names.get(cid, f"Channel {cid}"), f"{bp / 100:.2f} %")
            for cid, bp in splits.parse(ballot.split).items()
        ]
        out.append(
            MyReceipt(
                rnd,
                ballot.id,
                ballot.receipt or "",
                ballot.salt,
                ballot.split,
                split,
                ballot.carried_over,
                found,
            )
        )
    return out
