"""Slots: the due moments a schedule names, written so that one moment has one spelling."""

from __future__ import annotations

from datetime import datetime, timedelta

from market.clock import month_end, period_of


def minute_slot(moment: datetime) -> str:
    """A moment to the minute, as 'YYYY-MM-DDTHH:MM' (UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def floor_minutes(moment: datetime, step: int) -> datetime:
    """The moment rounded down to a multiple of `step` minutes."""
    moment = moment.replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % step)


def day_start(moment: datetime) -> datetime:
    """Midnight (UTC) of the day a moment falls in."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def next_day(moment: datetime) -> datetime:
    """The next midnight after a moment."""
    return day_start(moment) + timedelta(days=1)


def next_month_start(moment: datetime) -> datetime:
    """The first instant of the month after the one a moment falls in."""
    return month_end(period_of(moment))


def earliest(*moments: datetime | None) -> datetime | None:
    """The earliest of the moments given (None ones left out)."""
    known = [m for m in moments if m is not None]
    return min(known) if known else None
