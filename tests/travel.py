"""The suite travels in time: the whole session runs at one moment, TEST_TODAY or a random one.

`TEST_TODAY=2027-03-31T23:59` (an ISO date or date-time, UTC) replays a moment; without it a
moment is drawn between one year ago and three years ahead and shown in pytest's header. The
clock ticks from there. Processes the tests start (gunicorn, localstripe) follow through
`market.clock.CLOCK_OFFSET`, set here for every child to inherit.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta

import time_machine

from market.clock import CLOCK_OFFSET

VARIABLE = "TEST_TODAY"
YEAR = timedelta(days=365)


def parse(text: str) -> datetime:
    """A TEST_TODAY value (ISO date or date-time; naive means UTC) as an aware datetime."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f"{VARIABLE}={text!r} is not an ISO date or date-time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def draw(now: datetime, rng: random.Random) -> datetime:
    """A moment uniformly between one year before `now` and three years after, to the second."""
    span = int((4 * YEAR).total_seconds())
    return (now - YEAR + timedelta(seconds=rng.randrange(span))).replace(microsecond=0)


def show(moment: datetime) -> str:
    """The moment as TEST_TODAY would take it back."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


class Journey:
    """One session's trip: start before anything is built, stop at the end."""

    def __init__(self, environ: os._Environ[str] | dict[str, str]) -> None:
        given = environ.get(VARIABLE, "").strip()
        self.given = bool(given)
        self.moment = parse(given) if given else draw(datetime.now(UTC), random.SystemRandom())
        self._traveller = time_machine.travel(self.moment, tick=True)
        self._environ = environ
        self._saved = environ.get(CLOCK_OFFSET)

    def start(self) -> None:
        """Travel, and tell every child process how far we went."""
        real = time.time()
        self._traveller.start()
        time.time()  # time-machine ticks from the first reading: take it now, not later
        self._environ[CLOCK_OFFSET] = repr(self.moment.timestamp() - real)

    def stop(self) -> None:
        """Come back to the present."""
        self._traveller.stop()
        if self._saved is None:
            self._environ.pop(CLOCK_OFFSET, None)
        else:
            self._environ[CLOCK_OFFSET] = self._saved

    def header(self) -> str:
        """The line for pytest's header: how to replay this run."""
        how = "from the environment" if self.given else "replay with this"
        return f"{VARIABLE}={show(self.moment)} ({how})"
