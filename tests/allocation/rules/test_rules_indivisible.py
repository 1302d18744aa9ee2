"""MES, MES+Add1U and greedy: identical to pabutools 1.2.3, plus edge cases and bad input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.rules import (
    greedy_by_approvals,
    method_of_equal_shares,
    method_of_equal_shares_add1u,
    prepare_approvals,
    read_pabulib,
)

pabutools = pytest.importorskip("pabutools")
from pabutools.election import (  # noqa: E402
    ApprovalBallot,
    ApprovalProfile,
    Cost_Sat,
    Instance,
    Project,
    parse_pabulib,
)
from pabutools.rules import greedy_utilitarian_welfare  # noqa: E402
from pabutools.rules import method_of_equal_shares as pabu_mes  # noqa: E402
from pabutools.tiebreaking import TieBreakingRule  # noqa: E402

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "pabulib"
# Lodz (90k voters) takes pabutools ~30 s for plain MES: compared in the benchmark instead.
APPROVAL_FILES = ["Poland_Warszawa_2017_Mlynow", "Poland_Warszawa_2023_Wola"]
# pabutools' Add1 reruns MES once per currency unit: minutes on the larger files, so the
# tests compare it on Mlynow only and the benchmark does Wola and Lodz.
ADD1U_FILES = ["Poland_Warszawa_2017_Mlynow"]
RULES = [method_of_equal_shares, method_of_equal_shares_add1u, greedy_by_approvals]
BY_COST_THEN_ID = TieBreakingRule(lambda _inst, _prof, p: (p.cost, p.name))


def reference(approvals, costs, budget):  # type: ignore[no-untyped-def]
    """The three reference outcomes from pabutools, as sets of ids."""
    projects = {pid: Project(pid, c) for pid, c in costs.items()}
    inst = Instance(projects.values(), budget_limit=budget)
    prof = ApprovalProfile([ApprovalBallot([projects[p] for p in b]) for b in approvals])
    mes = pabu_mes(inst, prof, sat_class=Cost_Sat)
    add1 = pabu_mes(inst, prof, sat_class=Cost_Sat, voter_budget_increment=1)
    add1u = greedy_utilitarian_welfare(
        inst, prof, sat_class=Cost_Sat, initial_budget_allocation=add1
    )
    greedy = greedy_utilitarian_welfare(
        inst, prof, sat_class=Cost_Sat, tie_breaking=BY_COST_THEN_ID
    )
    return ({p.name for p in r} for r in (mes, add1u, greedy))


@st.composite
def instances(draw):  # type: ignore[no-untyped-def]
    """Small elections; few distinct costs and counts so exact ties are common."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    m = draw(st.integers(1, 7))
    n = draw(st.integers(0, 12))
    ids = [str(x) for x in rng.choice(60, size=m, replace=False)]
    cost_pool = draw(st.sampled_from([[4, 6], [1, 2, 3, 5, 8], list(range(1, 31))]))
    costs = {pid: int(rng.choice(cost_pool)) for pid in ids}
    budget = int(rng.integers(0, sum(costs.values()) + 2))
    p = rng.uniform(0.15, 0.7)
    approvals = [tuple(pid for pid in ids if rng.random() < p) for _ in range(n)]
    return approvals, costs, budget


@settings(derandomize=True, deadline=None, max_examples=250)
@given(inst=instances())
def test_identical_to_pabutools_on_random_instances(inst) -> None:  # type: ignore[no-untyped-def]
    approvals, costs, budget = inst
    mes, add1u, greedy = reference(approvals, costs, budget)
    assert set(method_of_equal_shares(approvals, costs, budget)) == mes
    assert set(method_of_equal_shares_add1u(approvals, costs, budget)) == add1u
    assert set(greedy_by_approvals(approvals, costs, budget)) == greedy


def test_designed_ties_go_to_the_lowest_id_as_a_string() -> None:
    # Three projects, same cost, same number of approvers: rho ties exactly; "10" < "9".
    costs = {"9": 10, "10": 10, "11": 10}
    approvals = [("9",), ("10",), ("11",), ("9", "10", "11")]
    # Each voter holds 5, so every project is affordable exactly (sum of budgets == cost).
    assert method_of_equal_shares(approvals, costs, 20) == ["10"]
    assert (
        set(method_of_equal_shares(approvals, costs, 20))
        == reference(approvals, costs, 20).__next__()
    )
    # Ties that appear only after payments (budgets become thirds of a unit).
    approvals = [("a", "b"), ("a", "c"), ("b", "c"), ("a",), ("b",), ("c",)]
    costs = {"a": 3, "b": 3, "c": 3}
    for budget in range(0, 12):
        mes, add1u, greedy = reference(approvals, costs, budget)
        assert set(method_of_equal_shares(approvals, costs, budget)) == mes
        assert set(method_of_equal_shares_add1u(approvals, costs, budget)) == add1u
        assert set(greedy_by_approvals(approvals, costs, budget)) == greedy


@settings(derandomize=True, deadline=None, max_examples=60)
@given(inst=instances(), seed=st.integers(0, 2**32 - 1))
def test_weights_equal_replication_and_order_does_not_matter(inst, seed) -> None:  # type: ignore[no-untyped-def]
    approvals, costs, budget = inst
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 4, size=len(approvals)).tolist()
    replicated = [b for b, k in zip(approvals, w, strict=True) for _ in range(k)]
    perm = rng.permutation(len(approvals)).tolist()
    for rule in (method_of_equal_shares, method_of_equal_shares_add1u, greedy_by_approvals):
        out = rule(approvals, costs, budget, weights=w)
        assert set(out) == set(rule(replicated, costs, budget))
        assert out == rule([approvals[i] for i in perm], costs, budget, [w[i] for i in perm])
        spent = sum(costs[p] for p in out)
        assert spent <= budget and len(set(out)) == len(out)


@settings(derandomize=True, deadline=None, max_examples=40)
@given(inst=instances())
def test_a_prepared_election_gives_every_rule_the_same_outcome(inst) -> None:  # type: ignore[no-untyped-def]
    approvals, costs, budget = inst
    prepared = prepare_approvals(approvals, costs, budget)
    for rule in RULES:
        expected = rule(approvals, costs, budget)
        assert rule(prepared) == expected
        assert rule(prepared) == expected  # a prepared election is not used up by a run


def test_a_prepared_election_takes_no_costs_and_ballots_need_them() -> None:
    prepared = prepare_approvals([("a",)], {"a": 3}, 10)
    for rule in RULES:
        with pytest.raises(ValueError, match="already holds its costs, budget and weights"):
            rule(prepared, {"a": 3}, 10)
        with pytest.raises(ValueError, match="costs and budget are required"):
            rule([("a",)])


def test_edge_cases() -> None:
    costs = {"a": 5, "b": 7}
    for rule in RULES:
        assert rule([("a",)], costs, 0) == []  # zero budget
        assert rule([("a",)], {"a": 5}, 5) == ["a"]  # one project
    # Nobody voting (or everyone abstaining): MES buys nothing, and, as in pabutools, the
    # greedy completion and greedy then buy what fits in id order / cheapest first.
    for approvals in ([], [(), ()]):
        assert method_of_equal_shares(approvals, costs, 100) == []
        assert method_of_equal_shares_add1u(approvals, costs, 6) == ["a"]
        assert greedy_by_approvals(approvals, {"b": 2, "a": 5}, 6) == ["b"]
    assert method_of_equal_shares([("a",), ("b",)], {"a": Fraction(9, 2), "b": 7}, 10) == ["a"]


@pytest.mark.parametrize(
    "rule", [method_of_equal_shares, method_of_equal_shares_add1u, greedy_by_approvals]
)
@pytest.mark.parametrize(
    ("approvals", "costs", "budget", "weights", "message"),
    [
        ([("a",)], {"a": 0}, 10, None, "project 'a': cost must be > 0"),
        ([("a",)], {"a": -3}, 10, None, "project 'a': cost must be > 0"),
        ([("a",)], {"a": float("nan")}, 10, None, "cost of project 'a' must be finite"),
        ([("a",)], {"a": 3}, -1, None, "budget must be >= 0"),
        ([("a",), ("zz",)], {"a": 3}, 10, None, "ballot 1: unknown project id 'zz'"),
        ([("a", "a")], {"a": 3}, 10, None, "ballot 0: approves a project more than once"),
        ([("a",)], {"a": 3}, 10, [-1.0], "ballot 0: weight -1.0"),
        ([("a",)], {"a": 3}, 10, [1.0, 2.0], "one entry per ballot"),
    ],
)
def test_bad_input(rule, approvals, costs, budget, weights, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        rule(approvals, costs, budget, weights)


def _file(name: str) -> Path:
    path = DATA / f"{name}.pb"
    if not path.exists():
        pytest.skip(f"Pabulib data not found at {DATA} (expected ../shared/data/pabulib)")
    return path


@pytest.mark.parametrize("name", APPROVAL_FILES)
def test_mes_identical_to_pabutools_on_real_files(name: str) -> None:
    path = _file(name)
    e = read_pabulib(path)
    inst, prof = parse_pabulib(str(path))
    expected = {p.name for p in pabu_mes(inst, prof, sat_class=Cost_Sat)}
    assert set(method_of_equal_shares(e.votes, e.costs, e.budget)) == expected
    greedy = greedy_utilitarian_welfare(
        inst, prof, sat_class=Cost_Sat, tie_breaking=BY_COST_THEN_ID
    )
    assert set(greedy_by_approvals(e.votes, e.costs, e.budget)) == {p.name for p in greedy}


@pytest.mark.parametrize("name", ADD1U_FILES)
def test_add1u_identical_to_pabutools_on_real_files(name: str) -> None:
    path = _file(name)
    e = read_pabulib(path)
    inst, prof = parse_pabulib(str(path))
    add1 = pabu_mes(inst, prof, sat_class=Cost_Sat, voter_budget_increment=1)
    expected = greedy_utilitarian_welfare(
        inst, prof, sat_class=Cost_Sat, initial_budget_allocation=add1
    )
    assert set(method_of_equal_shares_add1u(e.votes, e.costs, e.budget)) == {
        p.name for p in expected
    }
