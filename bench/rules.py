"""Time the allocation rules on Pabulib files or synthetic profiles.

    python -m bench.rules FILE.pb [...] [--rule NAME ...] [--repeat K] [--json]
                          [--pabutools] [--pabutools-repeat K] [--multiprofile] [--cpu]
    python -m bench.rules --synthetic 1000000x20 [--seed S] [--repeat K] [--json]

Times are medians of K runs (parse time reported separately). Indivisible rules read each
ballot's projects as approvals (points ballots: the projects given points); divisible rules
get shares (points / total, or equal shares over an approval ballot). ``--synthetic NxM``
draws N seeded basis-point ballots over M channels (sparse, like real ballots) and runs the
divisible rules per ballot and from the histogram the database tally would produce.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from allocation.rules import (
    PabulibElection,
    greedy_by_approvals,
    histogram_from_ballots,
    independent_markets,
    independent_markets_from_histogram,
    mean_split,
    mean_split_from_histogram,
    method_of_equal_shares,
    method_of_equal_shares_add1u,
    prepare_approvals,
    read_pabulib,
    voter_media_consensus,
    voter_media_consensus_from_histogram,
)

INDIVISIBLE: dict[str, Callable[..., list[str]]] = {
    "mes": method_of_equal_shares,
    "mes-add1u": method_of_equal_shares_add1u,
    "greedy": greedy_by_approvals,
}
DIVISIBLE: dict[str, Callable[..., np.ndarray]] = {
    "im": independent_markets,
    "consensus": voter_media_consensus,
    "mean": mean_split,
}
FROM_HISTOGRAM: dict[str, Callable[..., np.ndarray]] = {
    "im": independent_markets_from_histogram,
    "consensus": voter_media_consensus_from_histogram,
    "mean": mean_split_from_histogram,
}
RULES = [*INDIVISIBLE, *DIVISIBLE]
SEED = 2024  # a seed, not a year: the same synthetic instances on every run


# Wall clock by default; --cpu counts this process's CPU seconds instead, which a machine
# shared by many jobs (load above its cores) inflates far less than the wall clock.
CLOCK: list[Callable[[], float]] = [time.perf_counter]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds (wall clock, or CPU with --cpu) of `repeat` calls, and the last result."""
    times, result = [], None
    clock = CLOCK[0]
    for _ in range(max(1, repeat)):
        start = clock()
        result = fn()
        times.append(clock() - start)
    return statistics.median(times), result


def _number(x: int | Fraction) -> int | float:
    return x if isinstance(x, int) else float(x)


# ---------------------------------------------------------------- pabutools reference


def _pabutools_runner(
    path: Path, repeat: int, multiprofile: bool = False, election: PabulibElection | None = None
) -> tuple[float, Callable[[str], set[str]]]:
    """Parse with pabutools; return its parse time and a function running a rule by name.

    With `multiprofile`, the rules get `profile.as_multiprofile()` (equal ballots grouped,
    pabutools' fastest use); the conversion counts as parse time, not rule time. A points
    file (`election` read by us) is given to pabutools as approvals of the projects given
    points, as our rules read it.
    """
    from pabutools.election import (
        ApprovalBallot,
        ApprovalProfile,
        Cost_Sat,
        Instance,
        Project,
        parse_pabulib,
    )
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
    from pabutools.tiebreaking import TieBreakingRule

    def approvals(e: PabulibElection) -> tuple[Any, Any]:
        projects = {pid: Project(pid, cost) for pid, cost in e.costs.items()}
        inst = Instance(projects.values(), budget_limit=e.budget)
        ballots = [ApprovalBallot([projects[pid] for pid in vote]) for vote in e.votes]
        return inst, ApprovalProfile(ballots, instance=inst)

    def parse() -> tuple[Any, Any]:
        if election is None or election.vote_type == "approval":
            inst, prof = parse_pabulib(str(path))
        else:
            inst, prof = approvals(election)
        return inst, prof.as_multiprofile() if multiprofile else prof

    seconds, (inst, prof) = timed(parse, repeat)
    by_cost = TieBreakingRule(lambda _i, _p, project: (project.cost, project.name))

    def run(rule: str) -> set[str]:
        if rule == "mes":
            out = method_of_equal_shares(inst, prof, sat_class=Cost_Sat)
        elif rule == "mes-add1u":
            add1 = method_of_equal_shares(inst, prof, sat_class=Cost_Sat, voter_budget_increment=1)
            out = greedy_utilitarian_welfare(
                inst, prof, sat_class=Cost_Sat, initial_budget_allocation=add1
            )
        else:
            out = greedy_utilitarian_welfare(inst, prof, sat_class=Cost_Sat, tie_breaking=by_cost)
        return {p.name for p in out}

    return seconds, run


# ---------------------------------------------------------------- runs


def bench_file(
    path: Path,
    rules: Sequence[str],
    repeat: int,
    pabutools: bool,
    pabutools_repeat: int,
    multiprofile: bool = False,
) -> dict[str, Any]:
    """Run the chosen rules on one Pabulib file and return the report object."""
    parse_seconds, e = timed(lambda: read_pabulib(path), repeat)
    election: PabulibElection = e
    report: dict[str, Any] = {
        "file": str(path),
        "voters": len(election.votes),
        "projects": len(election.costs),
        "budget": _number(election.budget),
        "parse_seconds": parse_seconds,
        "results": [],
    }
    reference = None
    if pabutools:
        report["pabutools_parse_seconds"], reference = _pabutools_runner(
            path, pabutools_repeat, multiprofile, election
        )
        report["pabutools_multiprofile"] = multiprofile
    ids, shares = election.shares() if any(r in DIVISIBLE for r in rules) else ([], None)
    if any(r in INDIVISIBLE for r in rules):
        # Grouping equal ballots once, as pabutools' as_multiprofile(): timed apart.
        args = (election.votes, election.costs, election.budget)
        report["prepare_seconds"], prepared = timed(partial(prepare_approvals, *args), repeat)
    for rule in rules:
        if rule in INDIVISIBLE:
            seconds, selected = timed(partial(INDIVISIBLE[rule], *args), repeat)
            on_prepared, again = timed(partial(INDIVISIBLE[rule], prepared), repeat)
            assert again == selected, f"{rule}: prepared election gave another outcome"
            result: dict[str, Any] = {
                "rule": rule,
                "seconds": seconds,
                "prepared_seconds": on_prepared,
                "selected": selected,
            }
            if reference is not None:
                ref_seconds, expected = timed(partial(reference, rule), pabutools_repeat)
                result.update(
                    pabutools_seconds=ref_seconds,
                    identical=set(selected) == expected,
                    speedup=ref_seconds / seconds,
                    prepared_speedup=ref_seconds / on_prepared,
                )
        else:
            seconds, split = timed(partial(DIVISIBLE[rule], shares), repeat)
            shares_by_id = dict(zip(ids, split.tolist(), strict=True))
            result = {"rule": rule, "seconds": seconds, "shares": shares_by_id}
        report["results"].append(result)
    return report


def synthetic_ballots(n: int, m: int, seed: int) -> np.ndarray:
    """n sparse basis-point ballots over m channels, reproducible from the seed."""
    rng = np.random.default_rng(seed)
    bp = np.floor(rng.dirichlet(np.full(m, 0.3), size=n) * 10_000).astype(np.int64)
    bp[np.arange(n), rng.integers(0, m, size=n)] += 10_000 - bp.sum(axis=1)
    return bp


def bench_synthetic(spec: str, rules: Sequence[str], repeat: int, seed: int) -> dict[str, Any]:
    """Run the divisible rules on NxM synthetic basis-point ballots."""
    try:
        n, m = (int(part) for part in spec.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--synthetic wants NxM, e.g. 1000000x20, got {spec!r}") from None
    gen_seconds, bp = timed(lambda: synthetic_ballots(n, m, seed), 1)
    tally_seconds, hist = timed(lambda: histogram_from_ballots(bp), repeat)
    report: dict[str, Any] = {
        "file": f"synthetic:{n}x{m}:seed={seed}",
        "voters": n,
        "projects": m,
        "budget": None,
        "parse_seconds": gen_seconds,
        "tally_seconds": tally_seconds,
        "results": [],
    }
    ids = [f"c{j:02d}" for j in range(m)]
    for rule in rules:
        if rule not in DIVISIBLE:
            continue
        seconds, split = timed(partial(DIVISIBLE[rule], bp), repeat)
        hist_seconds, from_hist = timed(partial(FROM_HISTOGRAM[rule], hist), repeat)
        report["results"].append(
            {
                "rule": rule,
                "seconds": seconds,
                "histogram_seconds": hist_seconds,
                "identical": bool(np.array_equal(split, from_hist)),
                "shares": dict(zip(ids, split.tolist(), strict=True)),
            }
        )
    return report


# ---------------------------------------------------------------- output


def _outcome(result: dict[str, Any]) -> str:
    if "selected" in result:
        return f"{len(result['selected'])} projects"
    top = sorted(result["shares"].items(), key=lambda kv: -kv[1])[:3]
    return "top " + ", ".join(f"{k} {v:.3f}" for k, v in top)


def print_table(report: dict[str, Any], out: Any = None) -> None:
    """Human-readable summary of one report."""
    out = out or sys.stdout  # looked up at call time, so redirected output is honoured
    print(
        f"{report['file']}: {report['voters']} voters, {report['projects']} projects, "
        f"budget {report['budget']}; parse {report['parse_seconds']:.3f} s"
        + (
            f" (pabutools parse {report['pabutools_parse_seconds']:.3f} s"
            + (", multiprofile)" if report.get("pabutools_multiprofile") else ")")
            if "pabutools_parse_seconds" in report
            else ""
        )
        + (f"; tally {report['tally_seconds']:.3f} s" if "tally_seconds" in report else "")
        + (
            f"; grouping ballots {report['prepare_seconds'] * 1000:.2f} ms"
            if "prepare_seconds" in report
            else ""
        ),
        file=out,
    )
    for r in report["results"]:
        line = f"  {r['rule']:<10} {r['seconds']:9.4f} s  {_outcome(r)}"
        if "prepared_seconds" in r:
            line += f"; prepared {r['prepared_seconds'] * 1000:.2f} ms"
        if "histogram_seconds" in r:
            line += f"; from histogram {r['histogram_seconds']:.4f} s, identical={r['identical']}"
        if "pabutools_seconds" in r:
            line += (
                f"; pabutools {r['pabutools_seconds']:.3f} s, x{r['speedup']:.0f}"
                f" (prepared x{r['prepared_speedup']:.0f}), identical={r['identical']}"
            )
        print(line, file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: python -m bench.rules."""
    parser = argparse.ArgumentParser(prog="python -m bench.rules", description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, help="Pabulib .pb files")
    parser.add_argument("--rule", action="append", choices=RULES, help="repeatable; default all")
    parser.add_argument("--repeat", type=int, default=3, help="runs per rule (median)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.add_argument("--pabutools", action="store_true", help="also run pabutools 1.2.3")
    parser.add_argument("--pabutools-repeat", type=int, default=1, help="runs per reference")
    parser.add_argument(
        "--multiprofile",
        action="store_true",
        help="give pabutools profile.as_multiprofile() (its fastest use)",
    )
    parser.add_argument("--cpu", action="store_true", help="time CPU seconds, not wall clock")
    parser.add_argument("--synthetic", action="append", default=[], metavar="NxM")
    parser.add_argument("--seed", type=int, default=SEED, help="seed for --synthetic")
    args = parser.parse_args(argv)
    if not args.files and not args.synthetic:
        parser.error("give at least one .pb file or --synthetic NxM")
    rules = args.rule or RULES
    CLOCK[0] = time.process_time if args.cpu else time.perf_counter
    # Generators, so each report prints as soon as it is measured (pabutools can take minutes).
    reports = chain(
        (bench_synthetic(s, rules, args.repeat, args.seed) for s in args.synthetic),
        (
            bench_file(
                f, rules, args.repeat, args.pabutools, args.pabutools_repeat, args.multiprofile
            )
            for f in args.files
        ),
    )
    for report in reports:
        if args.json:
            print(json.dumps(report), flush=True)
        else:
            print_table(report)
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
