"""Recount a round from its published audit file alone: `python -m allocation.recount FILE.csv`.

Depends only on the standard library, numpy and the pure rules, so anyone can run it.
Checks the hash chain over the ballot rows, recomputes the outcome with the round's rule,
and compares every channel's cents with the amounts the file publishes.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from allocation.histogram import counts_from_arrays, outcome, weighted_histogram

MAGIC = "softcoop-audit"
# The format a close writes: version 2 chains blocks of rows (a `block,<hash>` line after
# every BLOCK_ROWS rows, the last block shorter); version 1, written until then, carries a
# chain hash on every row. Both are read.
VERSION = "2"
VERSIONS = ("1", "2")
BLOCK_ROWS = 1000
BASIS_POINTS = 10_000


class AuditFileError(ValueError):
    """The file is not a well-formed softcoop audit file (or its chain is broken)."""


def restore(cell: str) -> str:
    """Undo the app's formula neutralisation of a text cell (market.csvsafe.restore's twin).

    The app prefixes an apostrophe to text starting with = + - @ tab, CR or an apostrophe;
    kept here so the recount needs nothing but the standard library and numpy.
    """
    return cell[1:] if cell[:1] == "'" else cell


def chain_start(header_lines: Iterable[str]) -> str:
    """The chain's seed: a hash over the header, so the header cannot change unnoticed."""
    return hashlib.sha256("\n".join(header_lines).encode()).hexdigest()


def chain_next(prev: str, row: str) -> str:
    """Version 1: each ballot row's chain hash = sha256(previous chain hash + newline + row)."""
    return hashlib.sha256(f"{prev}\n{row}".encode()).hexdigest()


def chain_block(prev: str, rows: list[str]) -> str:
    """Version 2: each block's chain hash = sha256(previous chain hash + newline + the
    block's rows, a newline between rows)."""
    return hashlib.sha256(f"{prev}\n{chr(10).join(rows)}".encode()).hexdigest()


@dataclass
class AuditFile:
    """What an audit file says: the round, the published outcome and the ballots."""

    version: str = VERSION
    round_id: int = 0
    period: str = ""
    rule: str = ""
    currency: str = ""
    pool_cents: int = 0
    weights: dict[str, int] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    channel_names: list[str] = field(default_factory=list)
    published_cents: list[int] = field(default_factory=list)
    ballots: int = 0
    head: str = ""
    # Per weight (thousandths): (channel index, bp) of every positive share, and ballot count.
    shares_by_weight: dict[int, list[tuple[int, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    ballots_by_weight: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def _header(lines: Iterator[str]) -> tuple[AuditFile, list[str]]:
    audit = AuditFile()
    raw: list[str] = []
    for line in lines:
        line = line.rstrip("\r\n")
        raw.append(line)
        rec = next(csv.reader([line]))
        key = rec[0]
        if key == MAGIC:
            if len(rec) != 2 or rec[1] not in VERSIONS:
                raise AuditFileError(f"unsupported audit file version {rec[1:]}")
            audit.version = rec[1]
        elif key in {"round", "ballots", "pool_cents"}:
            setattr(audit, {"round": "round_id"}.get(key, key), int(rec[1]))
        elif key in {"period", "rule", "currency"}:
            setattr(audit, key, rec[1])
        elif key == "weight":
            audit.weights[rec[1]] = int(rec[2])
        elif key == "channel":
            audit.channel_ids.append(int(rec[1]))
            audit.channel_names.append(restore(rec[2]))
            audit.published_cents.append(int(rec[3]))
        elif key == "receipt":
            return audit, raw  # the column row ends the header
        else:
            raise AuditFileError(f"unexpected header line {line!r}")
    raise AuditFileError("no ballot columns row: not a softcoop audit file")


def read(path: Path) -> AuditFile:
    """Parse an audit file and verify its hash chain; raises AuditFileError when broken."""
    with path.open(encoding="utf-8", newline="") as handle:
        return _read(iter(handle))


def _read(lines: Iterator[str]) -> AuditFile:
    audit, header = _header(lines)
    prev = chain_start(header)
    index = {cid: j for j, cid in enumerate(audit.channel_ids)}
    block: list[str] = []  # version 2: the rows since the last block line
    for number, line in enumerate(lines, start=len(header) + 1):
        line = line.rstrip("\r\n")
        if line.startswith("end,"):
            audit.head = line.split(",")[1]
            break
        if audit.version == "1":
            row, _, chain = line.rpartition(",")
            prev = chain_next(prev, row)
            if chain != prev:
                raise AuditFileError(f"line {number}: the hash chain breaks here")
        elif line.startswith("block,"):
            if not block:
                raise AuditFileError(f"line {number}: a block with no rows")
            prev = chain_block(prev, block)
            if line[len("block,") :] != prev:
                raise AuditFileError(f"line {number}: the hash chain breaks at this block")
            for at, row in enumerate(block, start=number - len(block)):  # rows once chained
                _count(audit, index, at, row)
            block = []
            continue
        else:
            block.append(line)
            continue
        _count(audit, index, number, row)
    if block:
        raise AuditFileError(f"{len(block)} rows after the last block line")
    if audit.head != prev:
        raise AuditFileError("the final hash does not match the chain")
    if sum(audit.ballots_by_weight.values()) != audit.ballots:
        raise AuditFileError(
            f"the file says {audit.ballots} ballots but holds "
            f"{sum(audit.ballots_by_weight.values())}"
        )
    return audit


def _count(audit: AuditFile, index: dict[int, int], number: int, row: str) -> None:
    """Add one ballot row (`receipt,weight,split`) to the audit's shares."""
    try:
        _receipt, weight, split = row.split(",")
        w = int(weight)
        pairs = [(int(cid), int(bp)) for cid, _, bp in (p.partition(":") for p in split.split())]
    except ValueError:
        raise AuditFileError(f"line {number}: not a ballot row") from None
    shares = audit.shares_by_weight[w]
    total = 0
    for cid, bp in pairs:
        if cid not in index or not 0 < bp <= BASIS_POINTS:
            raise AuditFileError(f"line {number}: bad share {cid}:{bp}")
        shares.append((index[cid], bp))
        total += bp
    if total != BASIS_POINTS:
        raise AuditFileError(f"line {number}: the split sums to {total}, not 10000")
    audit.ballots_by_weight[w] += 1


@dataclass(frozen=True)
class Recount:
    """The recomputed cents beside the published ones."""

    audit: AuditFile
    cents: list[int]

    @property
    def matches(self) -> bool:
        """Whether every channel's recomputed cents equal the published cents."""
        return self.cents == self.audit.published_cents


def recount(path: Path) -> Recount:
    """Recompute a round's outcome from its audit file."""
    audit = read(path)
    counts = {}
    for w, n in audit.ballots_by_weight.items():
        pairs = np.array(audit.shares_by_weight[w], dtype=np.int64).reshape(-1, 2)
        ones = np.ones(len(pairs), dtype=np.int64)
        m = len(audit.channel_ids)
        counts[w] = counts_from_arrays(m, n, pairs[:, 0], pairs[:, 1], ones)
    hist = weighted_histogram(counts)
    if hist is None:
        cents = [0] * len(audit.channel_ids)  # no ballots: the pool carried over
    else:
        cents = list(outcome(audit.rule, hist, audit.pool_cents, audit.channel_ids).cents)
    return Recount(audit=audit, cents=cents)


def report(result: Recount) -> list[str]:
    """Lines a person reads: per channel, published vs recounted."""
    a = result.audit
    lines = [
        f"Round {a.round_id} ({a.period}), rule {a.rule}, pool {a.pool_cents} cents, "
        f"{a.ballots} ballots, final hash {a.head}"
    ]
    for cid, name, pub, got in zip(
        a.channel_ids, a.channel_names, a.published_cents, result.cents, strict=True
    ):
        mark = "ok" if pub == got else "DIFFERS"
        lines.append(f"  channel {cid} {name}: published {pub}, recounted {got}  {mark}")
    lines.append(
        "MATCH: the recount equals the published outcome."
        if result.matches
        else "MISMATCH: the recount differs from the published outcome."
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m allocation.recount FILE.csv", file=sys.stderr)
        return 2
    try:
        result = recount(Path(args[0]))
    except (OSError, AuditFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report(result)))
    return 0 if result.matches else 1


if __name__ == "__main__":
    raise SystemExit(main())
