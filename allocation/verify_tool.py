"""Check a softcoop audit file with nothing but Python 3 (served as /rounds/softcoop_verify.py).

    python3 softcoop_verify.py softcoop-round-PERIOD.csv
    python3 softcoop_verify.py FILE.csv --receipt R
    python3 softcoop_verify.py FILE.csv --receipt R --ballot B --split 3:5000,4:5000 --salt S

What it checks, using only Python 3.10+'s standard library (no numpy, no checkout of the project):
1. the hash chain, seeded by the header, up to the final hash the results page shows (so no
   row, weight or published amount changed unnoticed): over every block of rows (the
   `block,<hash>` lines of files since version 2) or every row (version 1);
2. every split sums to 100 % (10000 basis points) and names only channels on the ballot;
3. the plain weighted mean of the ballots, apportioned to the cent, beside the published
   amounts: for a round decided by the mean this is a recount; for Independent Markets or
   the consensus rule it is for comparison (recount those with `python -m allocation.recount`);
4. with --receipt: that the receipt is a row of the file (and on which line); with --ballot,
   --split and --salt as shown on your "My receipts" page, that the receipt is
   sha256("softcoop-receipt|<round>|<ballot>|<split>|<salt>") — i.e. that it is yours.
Exit status 0 when every check passes, 1 when one fails, 2 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from fractions import Fraction

BASIS_POINTS = 10_000


class Broken(ValueError):
    """The file is not a well-formed softcoop audit file, or its chain is broken."""


def receipt_of(round_id: int, ballot_id: int, split: str, salt: str) -> str:
    """A ballot's receipt, exactly as softcoop computes it."""
    payload = f"softcoop-receipt|{round_id}|{ballot_id}|{split}|{salt}"
    return hashlib.sha256(payload.encode()).hexdigest()


def read(path: str) -> dict:
    """Parse and verify the file; the header's facts, the ballots and each receipt's line."""
    facts: dict = {"weights": {}, "channels": [], "receipts": {}, "rows": []}
    header: list[str] = []
    with open(path, encoding="utf-8", newline="") as handle:
        lines = iter(handle)
        for line in lines:
            line = line.rstrip("\r\n")
            header.append(line)
            rec = next(csv.reader([line]))
            if rec[0] == "receipt":
                break
            if rec[0] == "weight":
                facts["weights"][rec[1]] = int(rec[2])
            elif rec[0] == "channel":
                facts["channels"].append((int(rec[1]), rec[2], int(rec[3])))
            elif len(rec) > 1:
                facts[rec[0]] = rec[1]
        else:
            raise Broken("no ballot columns row: not a softcoop audit file")
        version = facts.get("softcoop-audit")
        if version not in ("1", "2"):
            raise Broken(f"not a softcoop audit file of a version this tool reads: {version}")
        chain = hashlib.sha256("\n".join(header).encode()).hexdigest()
        ids = {cid for cid, _, _ in facts["channels"]}
        block: list[str] = []  # version 2: rows since the last `block,<hash>` line
        for number, line in enumerate(lines, start=len(header) + 1):
            line = line.rstrip("\r\n")
            if line.startswith("end,"):
                facts["head"] = line.split(",")[1]
                break
            if version == "1":  # every row carries its chain hash
                row, _, stated = line.rpartition(",")
                chain = hashlib.sha256(f"{chain}\n{row}".encode()).hexdigest()
                if stated != chain:
                    raise Broken(f"line {number}: the hash chain breaks here")
                _take(facts, ids, number, row)
            elif line.startswith("block,"):  # a hash over the block's rows
                if not block:
                    raise Broken(f"line {number}: a block with no rows")
                text = "\n".join(block)
                chain = hashlib.sha256(f"{chain}\n{text}".encode()).hexdigest()
                if line[len("block,") :] != chain:
                    raise Broken(f"line {number}: the hash chain breaks at this block")
                for at, row in enumerate(block, start=number - len(block)):
                    _take(facts, ids, at, row)
                block = []
            else:
                block.append(line)
        if block:
            raise Broken("ballot rows after the last block line: the file is cut short")
    if facts.get("head") != chain:
        raise Broken("the final hash does not match the chain")
    if int(facts.get("ballots", -1)) != len(facts["rows"]):
        raise Broken("the number of ballot rows differs from the header")
    return facts


def _take(facts: dict, ids: set[int], number: int, row: str) -> None:
    """Count one ballot row, `receipt,weight,split`, found chained on line `number`."""
    receipt, weight, split = row.split(",")
    shares = {int(c): int(bp) for c, _, bp in (p.partition(":") for p in split.split())}
    if set(shares) - ids or sum(shares.values()) != BASIS_POINTS:
        raise Broken(f"line {number}: the split is not 100 % of channels on the ballot")
    facts["receipts"][receipt] = number
    facts["rows"].append((int(weight), shares))


def mean_cents(facts: dict) -> list[int]:
    """The weighted mean split of the pool, in exact fractions, largest remainder to the cent."""
    ids = [cid for cid, _, _ in facts["channels"]]
    pool = int(facts.get("pool_cents", 0))
    total = sum(w for w, _ in facts["rows"])
    if not total:
        return [0] * len(ids)
    quotas = [
        Fraction(sum(w * s.get(cid, 0) for w, s in facts["rows"]) * pool, total * BASIS_POINTS)
        for cid in ids
    ]
    cents = [q.numerator // q.denominator for q in quotas]
    order = sorted(range(len(ids)), key=lambda j: (-(quotas[j] - cents[j]), ids[j]))
    for j in order[: pool - sum(cents)]:
        cents[j] += 1
    return cents


def _check_receipt(facts: dict, args: argparse.Namespace) -> bool:
    line = facts["receipts"].get(args.receipt)
    print(
        f"receipt {args.receipt}: " + (f"in the file, line {line}" if line else "NOT in the file")
    )
    ok = line is not None
    if args.ballot is not None and args.split is not None and args.salt is not None:
        mine = receipt_of(int(facts["round"]), args.ballot, args.split, args.salt)
        same = mine == args.receipt
        print("  recomputed from your ballot, split and salt: " + ("it is yours" if same else mine))
        ok = ok and same
    return ok


def _compare_mean(facts: dict) -> bool:
    """Print the plain mean beside the published cents; False if a mean round differs."""
    ok = True
    is_mean = facts.get("rule") == "mean"
    for (cid, name, published), cents in zip(facts["channels"], mean_cents(facts), strict=True):
        # The site computes the mean in floating point: an exact tie may move one cent.
        close = abs(published - cents) <= 1
        ok = ok and (close or not is_mean)
        mark = ("ok" if close else "DIFFERS") if is_mean else ""
        print(f"  channel {cid} {name}: published {published}, plain mean {cents} {mark}")
    if is_mean:
        print("recount of the mean: " + ("MATCH" if ok else "MISMATCH"))
    else:
        print("(the plain mean is for comparison; this round's rule needs the full recount)")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Check a softcoop audit file.")
    parser.add_argument("file")
    parser.add_argument("--receipt")
    parser.add_argument("--ballot", type=int)
    parser.add_argument("--split", help="as stored: channel:bp pairs joined by commas")
    parser.add_argument("--salt")
    args = parser.parse_args(argv)
    try:
        facts = read(args.file)
    except (OSError, UnicodeDecodeError, ValueError, IndexError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"Round {facts.get('round')} ({facts.get('period')}), rule {facts.get('rule')}, "
        f"pool {facts.get('pool_cents')} cents, {len(facts['rows'])} ballots"
    )
    print(f"hash chain: intact, final hash {facts['head']}")
    weights = ", ".join(f"{c} {w / 1000:g}" for c, w in sorted(facts["weights"].items()))
    print(f"class weights: {weights or 'none'}")
    ok = _compare_mean(facts)
    if args.receipt:
        ok = _check_receipt(facts, args) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
