"""`python -m bench.drill --minutes 3`: run the cluster drill and print its report.

The last line reads `drill: <n> requests, <e> errors outside faults, lost <l>, duplicated <d>`;
the exit status is 1 on a lost or duplicated effect, an invariant violation or errors outside
the fault windows above the load test's limit.
"""

from __future__ import annotations

import argparse
import sys

from bench.drill.run import Drill, run


def main(argv: list[str] | None = None) -> int:
    """Parse, run, report."""
    d = Drill()
    p = argparse.ArgumentParser(prog="python -m bench.drill", description=__doc__)
    p.add_argument("--minutes", type=float, default=d.seconds / 60)
    p.add_argument("--hosts", type=int, default=d.hosts)
    p.add_argument("--workers", type=int, default=d.workers, help="gunicorn workers per host")
    p.add_argument("--users", type=int, default=d.users)
    p.add_argument("--seed", type=int, default=d.seed)
    a = p.parse_args(argv)
    drill = Drill(seconds=a.minutes * 60, hosts=a.hosts, workers=a.workers, users=a.users,
                  members=max(d.members, a.users + 1), seed=a.seed)  # fmt: skip
    print(f"drill: {drill.hosts} hosts x {drill.workers} workers behind haproxy, "
          f"{drill.seconds:.0f} s, {drill.users} members", flush=True)  # fmt: skip
    report, faults = run(drill)
    print(report.render())
    for name, seconds in faults.recoveries.items():
        print(f"fault: {name}: healed in {seconds:.2f} s")
    problems = [p for found in report.invariants.values() for p in found]
    lost = sum("is not stored" in p or "booked 0 times" in p for p in problems)
    duplicated = sum(" booked " in p and "booked 0 times" not in p for p in problems)
    _inside, outside = report.split()
    errors = sum(not s.ok for s in outside)
    print(f"drill: {len(report.rec.samples)} requests, {errors} errors outside faults, "
          f"lost {lost}, duplicated {duplicated}")  # fmt: skip
    return 0 if report.passed and lost == duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
