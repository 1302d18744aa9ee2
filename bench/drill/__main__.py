"""`python -m bench.drill --minutes 3`: run the cluster drill and print its report.

The last line reads `drill: <n> requests, <e> errors outside faults, lost <l>, duplicated <d>`;
the exit status is 1 on a lost or duplicated effect, an invariant violation or errors outside
the fault windows above the load test's limit.
"""

from __future__ import annotations

import argparse
import sys

from bench.drill.run import Drill, judge, run


def main(argv: list[str] | None = None) -> int:
    """Parse, run, report."""
    d = Drill()
    p = argparse.ArgumentParser(prog="python -m bench.drill", description=__doc__)
    p.add_argument("--minutes", type=float, default=d.seconds / 60)
    p.add_argument("--hosts", type=int, default=d.hosts)
    p.add_argument("--workers", type=int, default=d.workers, help="gunicorn workers per host")
    p.add_argument("--users", type=int, default=d.users)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--faults", default=",".join(d.faults),
                   help="which faults, of " + ",".join(d.faults))  # fmt: skip
    a = p.parse_args(argv)
    drill = Drill(seconds=a.minutes * 60, hosts=a.hosts, workers=a.workers, users=a.users,
                  members=max(d.members, a.users + 1), seed=a.seed,
                  faults=tuple(f for f in a.faults.split(",") if f))  # fmt: skip
    print(f"drill: {drill.hosts} hosts x {drill.workers} workers x {drill.threads} threads "
          f"behind haproxy, 2 Celery workers + the scheduler, {drill.seconds:.0f} s, "
          f"{drill.users} members; faults: {', '.join(drill.faults)}", flush=True)  # fmt: skip
    outcome = judge(*run(drill))
    print(outcome.text)
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    sys.exit(main())
