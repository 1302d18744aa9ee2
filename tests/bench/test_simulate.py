"""A short simulated co-op in the suite (random seed, printed), and proof that it catches a
planted violation: the same `python -m bench.simulate` that `make simulate` runs."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from market.clock import period_of, utcnow
from tests.support import ROOT


def _simulate(*args: str) -> subprocess.CompletedProcess[str]:
    # The run starts in the suite's month (the suite travels; the child does not need to).
    env = {k: v for k, v in os.environ.items() if k != "SOFTCOOP_CLOCK_OFFSET"}
    return subprocess.run(
        [sys.executable, "-m", "bench.simulate", "--start", period_of(utcnow()), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_two_months_of_forty_members_hold_every_invariant() -> None:
    seed = random.randrange(1 << 31)
    print(f"simulation seed {seed} (replay: python -m bench.simulate --seed {seed} ...)")
    done = _simulate("--months", "2", "--members", "40", "--seed", str(seed))
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    last = out.strip().splitlines()[-1]
    assert last.startswith("simulation: ") and f"0 violations, seed {seed}" in last, out
    days = int(last.split()[1])
    assert 59 <= days <= 62
    table = out.split("\n\n")[0].splitlines()
    assert table[0].split()[:3] == ["month", "active", "past_due"] and len(table) == 4, out
    assert "sign up 40" in out and "subscribe" in out and "vote" in out, out
    assert "rounds.close succeeded" in out and "rounds.open succeeded" in out, out


@pytest.mark.slow
def test_a_planted_violation_stops_the_run_with_the_day_and_the_seed() -> None:
    done = _simulate("--months", "1", "--members", "8", "--seed", "11", "--plant-violation", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "VIOLATION on day 2" in done.stdout and "seed 11" in done.stdout, done.stdout
    assert "in_planted" in done.stdout, done.stdout
    assert "simulation:" not in done.stdout
