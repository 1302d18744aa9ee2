"""The one HTTP client, recorder and percentile of the benchmarks and the load test.

Every request is timed on the recorder's clock and kept as a Sample, so the claims and
webhook benchmarks and the load test report latency the same way (nearest rank).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=20)
# What a request may raise instead of answering: recorded as status 0.
FAILURES = (aiohttp.ClientError, TimeoutError, ConnectionError)
Expect = Iterable[int] | Callable[[int], bool]


@dataclass(frozen=True)
class Sample:
    """One request: what kind, when (seconds since the run started), and how it went."""

    kind: str
    start: float
    end: float
    status: int  # 0 when no HTTP answer came back
    ok: bool
    error: str | None = None

    @property
    def ms(self) -> float:
        """How long it took, in milliseconds."""
        return (self.end - self.start) * 1000


@dataclass
class Recorder:
    """Every sample of a run, on one clock."""

    t0: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    disconnects: Counter[str] = field(default_factory=Counter)
    # What the app acknowledged (e.g. webhook event ids answered 2xx): it must not be lost.
    acked: dict[str, set[str]] = field(default_factory=dict)

    def ack(self, what: str, key: str) -> None:
        """Remember that the app confirmed `key` (checked against the database afterwards)."""
        self.acked.setdefault(what, set()).add(key)

    def now(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.t0

    def add(self, sample: Sample) -> None:
        """Keep one sample."""
        self.samples.append(sample)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of some values, sorted or not (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(q * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def latency_ms(samples: Sequence[Sample]) -> dict[str, float]:
    """p50, p95, p99 and max latency of some samples, in milliseconds."""
    ms = sorted(s.ms for s in samples)
    figures = {f"p{q}_ms": percentile(ms, q / 100) for q in (50, 95, 99)}
    return {**figures, "max_ms": ms[-1] if ms else 0.0}


def client(
    base_url: str | None = None, limit: int = 100, cookies: bool = True
) -> aiohttp.ClientSession:
    """An HTTP session with the run's timeout and at most `limit` connections.

    With `cookies`, one person's cookie jar; without, a session shared by many clients
    that each send their own Cookie header (a jar would mix their sessions up).
    """
    # unsafe=True: aiohttp drops the cookies of a bare IP address (127.0.0.1) otherwise.
    jar = aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
    return aiohttp.ClientSession(
        base_url, timeout=TIMEOUT, connector=aiohttp.TCPConnector(limit=limit), cookie_jar=jar
    )


async def send(
    http: aiohttp.ClientSession,
    rec: Recorder,
    kind: str,
    method: str,
    path: str,
    *,
    expect: Expect = (200,),
    describe: Callable[[int, str], str] | None = None,
    **options: Any,
) -> tuple[Sample, str]:
    """Send one request (redirects not followed), time and record it; the sample and body."""
    start = rec.now()
    try:
        async with http.request(method, path, allow_redirects=False, **options) as resp:
            text = await resp.text()
            status = resp.status
    except FAILURES as exc:
        sample = Sample(kind, start, rec.now(), 0, False, type(exc).__name__)
        rec.add(sample)
        return sample, ""
    # A callable judges the status when the answer arrives (e.g. "409 once closing").
    ok = expect(status) if callable(expect) else status in set(expect)
    error = None if ok else (describe(status, text) if describe else f"HTTP {status}")
    sample = Sample(kind, start, rec.now(), status, ok, error)
    rec.add(sample)
    return sample, text
