"""The load driver: a small asyncio HTTP client whose every request is timed and judged.

Why not locust: the run needs exact control of things locust hides — a request cut off
after its headers and half its body, a task cancelled mid-flight, 5,000 webhook
deliveries in a fixed shuffled order — and aiohttp is already installed, so the driver
adds no dependency and runs in the same process as the fault injector.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from yarl import URL

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TITLE = re.compile(r"<h1>([^<]{1,80})</h1>")
TIMEOUT = aiohttp.ClientTimeout(total=20)


@dataclass(frozen=True)
class Sample:
    """One request: what kind, when (seconds since the run started), and how it went."""

    kind: str
    start: float
    end: float
    status: int  # 0 when no HTTP answer came back
    ok: bool
    error: str | None = None


@dataclass
class Recorder:
    """Every sample of the run, on one clock."""

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


def _describe(status: int, method: str, path: str, page: str) -> str:
    """An error's one-line summary: status, route and the error page's title."""
    title = TITLE.search(page)
    route = re.sub(r"/\d+", "/<id>", path.split("?")[0])
    return f"HTTP {status} {method} {route}" + (f" ({title.group(1)})" if title else "")


class RequestFailed(Exception):
    """A request did not get the answer it expected (already recorded as an error)."""


class User:
    """One simulated person: a cookie jar, a CSRF token, and timed requests."""

    def __init__(
        self,
        base_url: str,
        recorder: Recorder,
        rng: random.Random,
        email: str = "",
        password: str = "",
    ) -> None:
        self.base_url = base_url
        self.recorder = recorder
        self.rng = rng
        self.email = email
        self.password = password
        self.csrf = ""
        # unsafe=True: aiohttp drops the cookies of a bare IP address (127.0.0.1) otherwise.
        self.http = aiohttp.ClientSession(
            base_url, timeout=TIMEOUT, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        self.state: dict[str, object] = {}  # what scenarios remember (claims, ballots)

    async def close(self) -> None:
        """Release the connection pool."""
        await self.http.close()

    async def request(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        expect: Iterable[int] | Callable[[int], bool] = (200,),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, str]:
        """Send, time and record one request; raise RequestFailed on an unexpected answer."""
        start = self.recorder.now()
        try:
            async with self.http.request(
                method,
                path,
                data=body if body is not None else data,
                headers=headers,
                allow_redirects=False,
            ) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            self.recorder.add(
                Sample(kind, start, self.recorder.now(), 0, False, type(exc).__name__)
            )
            raise RequestFailed(type(exc).__name__) from exc
        # A callable judges the status when the answer arrives (e.g. "409 once closing").
        ok = expect(status) if callable(expect) else status in set(expect)
        error = None if ok else _describe(status, method, path, text)
        self.recorder.add(Sample(kind, start, self.recorder.now(), status, ok, error))
        if not ok:
            raise RequestFailed(error)
        if method == "GET":
            found = CSRF.search(text)
            if found:
                self.csrf = found.group(1)
        return status, text

    async def form(
        self,
        kind: str,
        path: str,
        fields: Mapping[str, str],
        expect: Iterable[int] | Callable[[int], bool] = (302,),
    ) -> tuple[int, str]:
        """POST a form with this user's CSRF token."""
        return await self.request(
            kind, "POST", path, data={"csrf_token": self.csrf, **fields}, expect=expect
        )

    async def log_in(self, kind: str = "login") -> None:
        """The sign-in form, as a browser would fill it."""
        await self.request(kind, "GET", "/login")
        await self.form(kind, "/login", {"email": self.email, "password": self.password})
        # The session changed; the next page read carries the token for later forms.
        await self.request(kind, "GET", "/profile")

    async def abandon(self, method: str, path: str, fields: Mapping[str, str]) -> None:
        """Send a write and walk away mid-request: cancel it, or cut the body in half.

        Nothing is judged here: the invariants checked after the run are the verdict.
        """
        payload = urlencode({"csrf_token": self.csrf, **fields}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.rng.random() < 0.5:
            task = asyncio.ensure_future(
                self.http.request(method, path, data=payload, headers=headers)
            )
            await asyncio.sleep(self.rng.uniform(0.0005, 0.03))
            task.cancel()
            try:
                resp = await task
                resp.release()
                self.recorder.disconnects["answered before the client left"] += 1
            except (asyncio.CancelledError, aiohttp.ClientError, ConnectionError):
                self.recorder.disconnects["cancelled mid-request"] += 1
            return
        url = URL(self.base_url).join(URL(path))
        cookies = self.http.cookie_jar.filter_cookies(url)
        cookie = "; ".join(f"{k}={v.value}" for k, v in cookies.items())
        await half_request(url, method, {**headers, "Cookie": cookie}, payload)
        self.recorder.disconnects["closed after half the body"] += 1


async def half_request(url: URL, method: str, headers: Mapping[str, str], payload: bytes) -> None:
    """Send the headers and half the body of a request, then hang up."""
    head = f"{method} {url.raw_path_qs} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
    for name, value in {**headers, "Content-Length": str(len(payload))}.items():
        head += f"{name}: {value}\r\n"
    try:
        _reader, writer = await asyncio.open_connection(url.host, url.port)
        writer.write((head + "Connection: close\r\n\r\n").encode() + payload[: len(payload) // 2])
        await writer.drain()
        writer.close()
        await writer.wait_closed()
    except OSError:
        pass  # the server may already be gone (a killed worker): the point is to hang up
