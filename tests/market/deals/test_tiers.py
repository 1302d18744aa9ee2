"""Price tiers: validation and the cost of a seat count (the story's figures exactly)."""

from __future__ import annotations

import itertools

import pytest

from market.deals.tiers import (
    Tier,
    TierError,
    cost_cents,
    from_json,
    parse_price,
    tier_for,
    to_json,
    validate_tiers,
)

STORY = [Tier(1, 120), Tier(50, 90), Tier(150, 70)]


def test_story_figure_57_seats_cost_51_30() -> None:
    assert cost_cents(STORY, 50, 57) == 5130


@pytest.mark.parametrize(
    ("seats", "cents"),
    [(50, 4500), (149, 149 * 90), (150, 150 * 70), (400, 400 * 70)],
)
def test_all_seats_priced_at_the_tier_the_count_reaches(seats: int, cents: int) -> None:
    assert cost_cents(STORY, 50, seats) == cents


def test_first_tier_applies_when_the_minimum_is_low() -> None:
    assert cost_cents(STORY, 1, 10) == 1200


def test_below_the_minimum_is_refused() -> None:
    with pytest.raises(TierError, match="at least 50 seats"):
        cost_cents(STORY, 50, 49)


@pytest.mark.parametrize(
    ("tiers", "min_seats", "message"),
    [
        ([], 1, "at least one"),
        ([Tier(1, 100), Tier(1, 90)], 1, "strictly increase"),
        ([Tier(1, 100), Tier(50, 90), Tier(40, 80)], 1, "strictly increase"),
        ([Tier(1, 90), Tier(50, 100)], 1, "cannot rise"),
        ([Tier(1, -5)], 1, "negative"),
        ([Tier(1, 1.5)], 1, "whole number"),  # type: ignore[arg-type]
        ([Tier(1, True)], 1, "whole number"),  # type: ignore[arg-type]
        ([Tier(10, 100)], 5, "first tier must start"),
        ([Tier(1, 120), Tier(50, 90)], 60, "above the largest tier"),
        ([Tier(0, 100)], 1, "between 1"),
        ([Tier(1, 100)], 0, "at least 1"),
    ],
)
def test_malformed_tiers_are_refused(tiers: list[Tier], min_seats: int, message: str) -> None:
    with pytest.raises(TierError, match=message):
        validate_tiers(tiers, min_seats)


def test_first_tier_may_start_at_the_minimum() -> None:
    assert validate_tiers([Tier(50, 90), Tier(150, 70)], 50)[0] == Tier(50, 90)


def test_cost_agrees_with_brute_force_over_small_tier_sets() -> None:
    """For every seat count, cost = seats x price of the last tier whose threshold <= seats."""
    prices = [300, 200, 200, 50, 0]
    for thresholds in itertools.combinations(range(2, 30, 3), 3):
        tiers = [Tier(1, prices[0])] + [
            Tier(t, p) for t, p in zip(thresholds, prices[1:], strict=False)
        ]
        for seats in range(1, 40):
            expected = seats * [t.per_seat_cents for t in tiers if t.from_seats <= seats][-1]
            assert cost_cents(tiers, 1, seats) == expected
            assert tier_for(tiers, seats).from_seats <= seats


@pytest.mark.parametrize(
    ("text", "cents"),
    [("1.20", 120), ("$0.9", 90), ("12", 1200), (" 0.70 ", 70), ("1,000", 100000)],
)
def test_prices_parse_to_whole_cents(text: str, cents: int) -> None:
    assert parse_price(text) == cents


@pytest.mark.parametrize("text", ["-1", "1.205", "abc", "", "1e3", "0.1.2"])
def test_bad_prices_are_refused(text: str) -> None:
    with pytest.raises(TierError):
        parse_price(text)


def test_json_round_trip_and_bad_shapes() -> None:
    assert from_json(to_json(STORY)) == STORY
    for bad in ["x", [[1]], [["1", 2]], [[1, 2.5]]]:
        with pytest.raises(TierError):
            from_json(bad)
