"""Pabulib reader: real files, shares for the divisible rules, clear errors on bad files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from allocation.rules import PabulibError, independent_markets, parse_pabulib_text, read_pabulib

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "pabulib"

GOOD = """META
key;value
description;tiny
budget;100
vote_type;cumulative
PROJECTS
project_id;cost;name
1;60;"A; with a semicolon"
2;40,5;B
3;30;C
VOTES
voter_id;vote;points
v1;1,2;2,1
v2;3;5
v3;;
"""


def test_reads_meta_projects_and_points() -> None:
    e = parse_pabulib_text(GOOD)
    assert e.budget == 100 and e.vote_type == "cumulative"
    assert e.costs == {"1": 60, "2": Fraction(81, 2), "3": 30}
    assert e.votes == [("1", "2"), ("3",), ()]
    assert e.points == [(2.0, 1.0), (5.0,), ()]
    # Votes hold the projects section's own id strings, one object per project.
    by_id = {pid: pid for pid in e.costs}
    assert all(pid is by_id[pid] for vote in e.votes for pid in vote)
    ids, shares = e.shares()  # the empty ballot abstains and is left out
    assert ids == ["1", "2", "3"]
    assert np.allclose(shares, np.array([[2 / 3, 1 / 3, 0.0], [0.0, 0.0, 1.0]]))


def test_approval_ballots_become_equal_shares() -> None:
    text = GOOD.replace("cumulative", "approval").replace(";points", "")
    text = text.replace("1,2;2,1", "1,2").replace("3;5", "3").replace("v3;;", "v3;")
    e = parse_pabulib_text(text)
    assert e.points is None
    assert np.allclose(e.shares()[1], np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("2;40,5;B", "2;-4;B"), "<pabulib>:9: project '2' has cost -4"),
        (("2;40,5;B", "2;abc;B"), "<pabulib>:9: .*'abc' is not a number"),
        (("3;30;C", "1;30;C"), "<pabulib>:10: project '1' is listed twice"),
        (("v2;3;5", "v2;7;5"), "<pabulib>:14: vote names unknown project '7'"),
        (("v2;3;5", "v2;3,1;5"), "<pabulib>:14: 2 projects but 1 points"),
        (("v2;3;5", "v2;3;x"), "<pabulib>:14: points 'x' are not numbers"),
        (("v2;3;5", "v2;3;5;9"), "<pabulib>:14: 4 fields but the VOTES header has 3"),
        (("v1;1,2;2,1", "v1;1,1;2,1"), "<pabulib>:13: vote names a project more than once"),
        (("budget;100\n", ""), "META has no 'budget'"),
        (("vote_type;cumulative", "vote_type;ordinal"), "vote_type 'ordinal'"),
    ],
)
def test_malformed_files_name_line_and_reason(change: tuple[str, str], message: str) -> None:
    with pytest.raises(PabulibError, match=message):
        parse_pabulib_text(GOOD.replace(*change))


def test_real_files_parse_and_feed_the_divisible_rules() -> None:
    if not DATA.is_dir():
        pytest.skip(f"Pabulib data not found at {DATA} (expected ../shared/data/pabulib)")
    for path in sorted(DATA.glob("*.pb")):
        e = read_pabulib(path)
        assert len(e.votes) == int(e.meta["num_votes"]), path.name
        assert len(e.costs) == int(e.meta["num_projects"]), path.name
        if path.stat().st_size < 1_000_000:
            ids, shares = e.shares()
            split = independent_markets(shares)
            assert len(split) == len(ids) and abs(split.sum() - 1) < 1e-9
