"""A published deal ballot's outcome equals pabutools' on the same approvals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from market.db import utcnow
from market.dealballots import services
from market.dealballots.closing import close_ballot
from tests.catalog.factories import make_channel
from tests.market.dealballots.factories import accepted_deals, open_ballot
from tests.market.deals.factories import fund_channel
from tests.market.factories import make_member

pabutools = pytest.importorskip("pabutools")
from pabutools.election import (  # noqa: E402
    ApprovalBallot,
    ApprovalProfile,
    Cost_Sat,
    Instance,
    Project,
)
from pabutools.rules import greedy_utilitarian_welfare  # noqa: E402
from pabutools.rules import method_of_equal_shares as pabu_mes  # noqa: E402
from pabutools.tiebreaking import TieBreakingRule  # noqa: E402

BY_COST_THEN_ID = TieBreakingRule(lambda _inst, _prof, p: (p.cost, p.name))


def pabutools_outcome(
    approvals: list[tuple[str, ...]], costs: dict[str, int], budget: int, increment: int
) -> tuple[set[str], set[str]]:
    """MES + Add1 (per-voter increment) completed greedily, and greedy, from pabutools."""
    projects = {pid: Project(pid, c) for pid, c in costs.items()}
    inst = Instance(projects.values(), budget_limit=budget)
    prof = ApprovalProfile([ApprovalBallot([projects[p] for p in b]) for b in approvals])
    add1 = pabu_mes(inst, prof, sat_class=Cost_Sat, voter_budget_increment=increment)
    add1u = greedy_utilitarian_welfare(
        inst, prof, sat_class=Cost_Sat, initial_budget_allocation=add1
    )
    greedy = greedy_utilitarian_welfare(
        inst, prof, sat_class=Cost_Sat, tie_breaking=BY_COST_THEN_ID
    )
    return {p.name for p in add1u}, {p.name for p in greedy}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_published_outcome_equals_pabutools(session: Session, tmp_path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    admin = make_member(session, admin=True)
    channel = make_channel(session)
    budget = int(rng.integers(15_000, 40_000))
    fund_channel(session, channel, budget)
    seats = [int(s) for s in rng.choice(np.arange(50, 220, 5), size=8, replace=False)]
    deals = accepted_deals(session, admin, channel, seats)
    ballot = open_ballot(session, channel, deals, admin=admin)
    popularity = rng.uniform(0.05, 0.6, size=len(deals))
    cast: list[tuple[str, ...]] = []
    for _ in range(int(rng.integers(20, 60))):
        picked = [d.id for d, p in zip(deals, popularity, strict=True) if rng.random() < p]
        if picked:
            services.cast_approvals(session, make_member(session), ballot.id, picked)
            cast.append(tuple(str(d) for d in picked))
    report = close_ballot(session, ballot.id, currency="usd", now=utcnow(), early=True)
    costs = {c.deal_id: c.cost_cents for c in services.candidates_of(session, ballot.id)}
    approved = {d for b in cast for d in b}  # deals nobody approved are not in the election
    ours_greedy = {
        str(c.deal_id) for c in services.candidates_of(session, ballot.id) if c.greedy_funded
    }
    add1u, greedy = pabutools_outcome(
        cast, {str(d): c for d, c in costs.items() if str(d) in approved}, budget, 100
    )
    assert {str(d) for d in report.funded} == add1u
    assert ours_greedy == greedy
    assert report.funded, "an instance where nothing is funded compares nothing"
