"""Run localstripe (a fake Stripe for development, the demo and tests) and wire it to an app.

Dev and test tooling only: the app talks to whatever STRIPE_API_BASE names and never
imports this, so localstripe is a test dependency, not a runtime one.

`python -m bench.fakestripe --port 8420` starts it without its habit of pickling
its whole state to /tmp/localstripe.pickle after every write (slow, and shared by every
localstripe on the machine); each run starts from scratch.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from market.clock import follow_offset

ROOT = Path(__file__).resolve().parent.parent
DEV_API_KEY = "sk_test_softcoop_dev"
DEV_PUBLISHABLE_KEY = "pk_test_softcoop_dev"
DEV_WEBHOOK_SECRET = "whsec_softcoop_dev"


def _request(method: str, url: str, data: dict[str, Any] | None = None) -> None:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(req, timeout=5):
        pass


def register_webhook(base: str, name: str, url: str, secret: str) -> None:
    """Tell localstripe to deliver signed events for everything to `url`."""
    _request("POST", f"{base}/_config/webhooks/{name}", {"url": url, "secret": secret})


def reset(base: str) -> None:
    """Forget every customer, subscription and invoice (webhooks stay registered)."""
    _request("DELETE", f"{base}/_config/data")


def _wait(base: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"localstripe exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"localstripe at {base} did not start")


@contextmanager
def running(port: int, log: IO[bytes] | int | None = subprocess.DEVNULL) -> Iterator[str]:
    """A localstripe on 127.0.0.1:port for the duration of the block; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fakestripe", "--port", str(port)],
        stdout=log,
        stderr=log,
        cwd=ROOT,  # `bench` is not installed: it is found from the project's root
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    """Start localstripe in this process, from scratch, on 127.0.0.1 only.

    localstripe's own `start()` listens on every interface and would show members' emails
    to the whole network; this binds the same aiohttp app to the loopback address.
    """
    import argparse

    from aiohttp import web
    from localstripe import resources, server

    follow_offset()  # a travelling test run's Stripe: its periods and signatures on its clock
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--from-scratch", action="store_true")
    args = parser.parse_args()
    web.run_app(server.app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
