"""The one clock and the co-op's calendar: months ("periods") derived from a moment.

Everything that needs "now" calls `utcnow()` (services take `now=` and default to it), so a
test or a simulation can move time for the whole process in one place.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# Seconds a travelling test run (tests/travel.py) has moved its clock; its children follow.
CLOCK_OFFSET = "SOFTCOOP_CLOCK_OFFSET"


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def period_of(moment: datetime) -> str:
    """The month a moment falls in, as a period 'YYYY-MM' (in UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def shift_period(period: str, months: int) -> str:
    """The period `months` months after (or, negative, before) a period."""
    year, month = (int(p) for p in period.split("-"))
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def next_period(period: str) -> str:
    """The month after a period (December rolls into January of the next year)."""
    return shift_period(period, 1)


def previous_period(period: str) -> str:
    """The month before a period (January rolls back into December)."""
    return shift_period(period, -1)


def month_start(period: str) -> datetime:
    """The first instant of a period, in UTC."""
    year, month = (int(p) for p in period.split("-"))
    return datetime(year, month, 1, tzinfo=UTC)


def month_end(period: str) -> datetime:
    """The first instant after a period (the start of the next month), in UTC."""
    return month_start(next_period(period))


def follow_offset(environ: Mapping[str, str] = os.environ) -> None:
    """Shift this process's clock by CLOCK_OFFSET seconds, when set (children of a test run)."""
    offset = environ.get(CLOCK_OFFSET)
    if not offset:
        return
    import time_machine  # a test dependency: only a travelling test run sets the offset

    # A few ms ahead, never behind: a cookie the tests signed must not look future-dated here.
    time_machine.travel(time.time() + float(offset) + 0.005, tick=True).start()
    time.time()  # time-machine ticks from the first reading: take it now, not later
