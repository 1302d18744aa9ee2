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
from collections.abc import Mapping
from functools import partial
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from bench.http import Expect, Recorder, client, send

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TITLE = re.compile(r"<h1>([^<]{1,80})</h1>")


def _describe(status: int, page: str, *, method: str, path: str) -> str:
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
        self.http = client(base_url)
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
        expect: Expect = (200,),
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, str]:
        """Send, time and record one request; raise RequestFailed on an unexpected answer."""
        sample, text = await send(
            self.http,
            self.recorder,
            kind,
            method,
            path,
            data=body if body is not None else data,
            headers=headers,
            expect=expect,
            describe=partial(_describe, method=method, path=path),
        )
        if not sample.ok:
            raise RequestFailed(sample.error)
        if method == "GET":
            found = CSRF.search(text)
            if found:
                self.csrf = found.group(1)
        return sample.status, text

    async def form(
        self,
        kind: str,
        path: str,
        fields: Mapping[str, str],
        expect: Expect = (302,),
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
