"""Recount a deal ballot from its audit file alone: `python -m allocation.deal_recount FILE.csv`.

Depends only on the standard library, numpy and the pure rules. Checks the hash chain over
the approval rows, recomputes the funded set with MES + Add1U (and greedy, the baseline)
and compares each deal's approvals, funded and greedy marks with what the file publishes.
`choose` is also what the app's close calls, so both compute the outcome the same way.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from allocation.recount import AuditFileError, chain_next, chain_start, restore
from allocation.rules import (
    greedy_by_approvals,
    method_of_equal_shares_add1u,
    prepare_approvals,
)

MAGIC = "softcoop-deal-ballot-audit"
VERSION = "1"
RULE = "mes-add1u"


@dataclass(frozen=True)
class Outcome:
    """Deal ids (as strings) funded by MES + Add1U, in the order bought, and by greedy."""

    funded: list[str]
    greedy: list[str]
    approvals: dict[str, int]


def choose(
    ballots: Sequence[tuple[str, ...]], costs: dict[str, int], budget: int, increment: int
) -> Outcome:
    """MES + Add1U (per-voter budget raised by `increment` cents) and greedy on one election.

    Only deals someone approved are in the election: the completions (Add1U's greedy fill
    and greedy itself) would otherwise spend money left over on deals nobody wants. On the
    approved deals the outcome is the same either way (unapproved ones sort last).
    """
    approvals: Counter[str] = Counter()
    for ballot in ballots:
        approvals.update(ballot)
    wanted = {d: c for d, c in costs.items() if approvals.get(d)}
    if not wanted:
        return Outcome([], [], {d: 0 for d in costs})
    election = prepare_approvals(ballots, wanted, budget)
    funded = method_of_equal_shares_add1u(election, increment=increment)
    greedy = greedy_by_approvals(election)
    return Outcome(funded, greedy, {d: approvals.get(d, 0) for d in costs})


@dataclass
class DealAudit:
    """What a deal ballot's audit file says."""

    ballot_id: int = 0
    title: str = ""
    rule: str = ""
    currency: str = ""
    budget_cents: int = 0
    increment_cents: int = 0
    deal_ids: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    costs: dict[str, int] = field(default_factory=dict)
    approvals: dict[str, int] = field(default_factory=dict)
    funded: set[str] = field(default_factory=set)
    greedy: set[str] = field(default_factory=set)
    ballots: int = 0
    head: str = ""
    rows: list[tuple[str, ...]] = field(default_factory=list)


def _header(lines: Iterator[str]) -> tuple[DealAudit, list[str]]:
    audit = DealAudit()
    raw: list[str] = []
    for line in lines:
        line = line.rstrip("\r\n")
        raw.append(line)
        rec = next(csv.reader([line]))
        key = rec[0]
        if key == MAGIC:
            if rec[1:] != [VERSION]:
                raise AuditFileError(f"unsupported deal ballot audit version {rec[1:]}")
        elif key in {"ballot", "budget_cents", "increment_cents", "ballots"}:
            setattr(audit, {"ballot": "ballot_id"}.get(key, key), int(rec[1]))
        elif key in {"rule", "currency"}:
            setattr(audit, key, rec[1])
        elif key == "title":
            audit.title = restore(rec[1])
        elif key == "deal":
            did = rec[1]
            audit.deal_ids.append(did)
            audit.titles.append(restore(rec[2]))
            audit.costs[did] = int(rec[3])
            audit.approvals[did] = int(rec[4])
            if rec[5] == "1":
                audit.funded.add(did)
            if rec[6] == "1":
                audit.greedy.add(did)
        elif key == "receipt":
            return audit, raw
        else:
            raise AuditFileError(f"unexpected header line {line!r}")
    raise AuditFileError("no approval columns row: not a softcoop deal ballot audit file")


def read(path: Path) -> DealAudit:
    """Parse a deal ballot's audit file and verify its hash chain (AuditFileError if broken)."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = iter(handle)
        audit, header = _header(lines)
        prev = chain_start(header)
        known = set(audit.deal_ids)
        for number, line in enumerate(lines, start=len(header) + 1):
            line = line.rstrip("\r\n")
            if line.startswith("end,"):
                audit.head = line.split(",")[1]
                break
            row, _, chain = line.rpartition(",")
            prev = chain_next(prev, row)
            if chain != prev:
                raise AuditFileError(f"line {number}: the hash chain breaks here")
            ballot = tuple(row.partition(",")[2].split())
            if not ballot or not known.issuperset(ballot) or len(set(ballot)) != len(ballot):
                raise AuditFileError(f"line {number}: bad approvals {row!r}")
            audit.rows.append(ballot)
    if audit.head != prev:
        raise AuditFileError("the final hash does not match the chain")
    if len(audit.rows) != audit.ballots:
        raise AuditFileError(f"the file says {audit.ballots} ballots but holds {len(audit.rows)}")
    return audit


@dataclass(frozen=True)
class DealRecount:
    """The recomputed outcome beside the published one."""

    audit: DealAudit
    outcome: Outcome

    @property
    def matches(self) -> bool:
        """Whether approvals, the funded set and greedy's set all equal what was published."""
        a, o = self.audit, self.outcome
        return (
            o.approvals == a.approvals and set(o.funded) == a.funded and set(o.greedy) == a.greedy
        )


def recount(path: Path) -> DealRecount:
    """Recompute a deal ballot's outcome from its audit file."""
    audit = read(path)
    result = choose(audit.rows, audit.costs, audit.budget_cents, audit.increment_cents)
    return DealRecount(audit, result)


def report(result: DealRecount) -> list[str]:
    """Lines a person reads: per deal, published vs recounted."""
    a, o = result.audit, result.outcome
    lines = [
        f"Deal ballot {a.ballot_id} ({a.title}), rule {a.rule}, budget {a.budget_cents} cents, "
        f"{a.ballots} ballots, final hash {a.head}"
    ]
    for did, title in zip(a.deal_ids, a.titles, strict=True):
        pub = (a.approvals[did], did in a.funded, did in a.greedy)
        got = (o.approvals.get(did, 0), did in o.funded, did in o.greedy)
        mark = "ok" if pub == got else "DIFFERS"
        lines.append(
            f"  deal {did} {title}: cost {a.costs[did]}, approvals {got[0]}, "
            f"funded {'yes' if got[1] else 'no'} (published {'yes' if pub[1] else 'no'}), "
            f"greedy {'yes' if got[2] else 'no'}  {mark}"
        )
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
        print("usage: python -m allocation.deal_recount FILE.csv", file=sys.stderr)
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
