"""Receipts that last: a member's receipts, and finding a receipt in a published audit file."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from allocation import audit, splits
from allocation.audit import ensure_stored
from allocation.models import Ballot, Round, RoundStatus
from catalog.models import Channel
from market import filestore
from market.db import Database
from market.filestore import StoredFile

RECEIPT_LENGTH = 64


@dataclass(frozen=True)
class Found:
    """Where a receipt stands in a round's audit file (the number only when asked for)."""

    line_number: int | None
    line: str
    block: str = ""  # the chain hash of the row's block (files of version 2; v1 rows hold it)


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


def find_receipt(db: Database, session: Session, rnd: Round, receipt: str) -> Found | None:
    """Where a receipt is in a published round's audit file (None if it is not there).

    Rows are sorted by receipt and each stored chunk records the receipt it starts with,
    so one indexed lookup names the chunk and only that chunk (~1 MiB) is read.
    """
    stored = ensure_stored(db, session, rnd)
    chunk = filestore.chunk_for_key(session, stored.id, receipt)
    if chunk is None:
        return None
    data = bytes(chunk.data)
    target = receipt.encode() + b","
    if data.startswith(target):
        at = 0
    else:
        at = data.find(b"\n" + target) + 1
        if at == 0:
            return None
    end = data.find(b"\n", at)
    line = data[at : end if end >= 0 else len(data)].decode()
    # A block never straddles two chunks: its `block,<hash>` line follows in this one.
    mark = data.find(b"\nblock,", at)
    block = data[mark + 7 : mark + 71].decode() if mark >= 0 else ""
    return Found(chunk.first_line + data.count(b"\n", 0, at), line, block)


def my_receipts(db: Database, session: Session, member_id: int) -> list[MyReceipt]:
    """Every round the member voted in, newest first, each checked against its audit file."""
    rows = session.execute(
        select(Ballot, Round)
        .join(Round, Round.id == Ballot.round_id)
        .where(Ballot.member_id == member_id, Ballot.is_current, not_(Ballot.abstain))
        .order_by(Round.period.desc())
    ).all()
    names = {cid: name for cid, name in session.execute(select(Channel.id, Channel.name))}
    published = [rnd for _b, rnd in rows if rnd.status == RoundStatus.PUBLISHED]
    stored = set(
        session.scalars(
            select(StoredFile.name).where(
                StoredFile.name.in_([audit.audit_name(r) for r in published])
            )
        )
    )
    out = []
    for ballot, rnd in rows:
        found = None
        if rnd.status == RoundStatus.PUBLISHED and ballot.receipt:
            # A counted ballot of a published round is a row of its stored file by
            # construction; reading each round's chunk would cost statements per month of
            # history, so the find page (one round) reads the line and numbers it.
            found = Found(None, "") if audit.audit_name(rnd) in stored else None
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
