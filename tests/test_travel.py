"""The suite runs at the moment its header names, and that moment can be replayed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from market.clock import utcnow
from tests.conftest import JOURNEY
from tests.travel import YEAR, Journey, draw, parse, show


def test_the_clock_is_at_the_moment_in_the_header(pytestconfig: pytest.Config) -> None:
    journey = pytestconfig.stash[JOURNEY]
    # It ticks from there: later by no more than the session has run so far.
    assert journey.moment <= utcnow() < journey.moment + timedelta(hours=3)
    assert journey.header().startswith(f"TEST_TODAY={show(journey.moment)} (")


def test_a_header_moment_replays_exactly() -> None:
    moment = draw(utcnow(), random.Random(7))
    replayed = Journey({"TEST_TODAY": show(moment)})
    assert replayed.moment == moment and "from the environment" in replayed.header()


def test_test_today_takes_dates_and_date_times_in_utc() -> None:
    assert parse("2027-03-31T23:59") == datetime(2027, 3, 31, 23, 59, tzinfo=UTC)
    assert parse("2028-02-29") == datetime(2028, 2, 29, tzinfo=UTC)
    assert parse("2029-07-01T02:00+02:00") == datetime(2029, 7, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="TEST_TODAY"):
        parse("next tuesday")


def test_random_moments_fall_between_a_year_ago_and_three_years_ahead() -> None:
    now = utcnow()
    rng = random.Random(1)
    moments = [draw(now, rng) for _ in range(2000)]
    assert all(now - YEAR <= m < now + 3 * YEAR for m in moments)
    assert min(moments) < now - YEAR / 2 and max(moments) > now + 2 * YEAR
