"""Dues under parallel clicks and a Stripe that stalls, through a real threaded server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import requests
from sqlalchemy import func, select

from market.billing.gateway import StripeGateway, gateway
from market.billing.models import DuesAccount
from market.ledger.models import LedgerTransaction
from market.members.models import Member
from market.webdb import database
from tests import support
from tests.market.billing.test_dues_flow import GOOD_CARD, _confirm_card
from tests.market.factories import make_member


def _member(server: support.LiveServer, **fields: Any) -> int:
    with database(server.app).transaction() as s:
        return make_member(s, **fields).id


def _browser(server: support.LiveServer, member_id: int) -> tuple[requests.Session, str]:
    cookie, token = support.signed_login(server.app, member_id)
    browser = requests.Session()
    browser.cookies.set("session", cookie)
    return browser, token


def _post(browser: requests.Session, url: str, token: str, **data: str) -> int:
    response = browser.post(url, data={"csrf_token": token, **data}, allow_redirects=False)
    return response.status_code


def _stripe(localstripe: str, path: str, **params: str) -> list[dict[str, Any]]:
    auth = (support.STRIPE_KEYS["STRIPE_API_KEY"], "")
    response = requests.get(f"{localstripe}/v1/{path}", params=params, auth=auth, timeout=10)
    response.raise_for_status()
    return list(response.json()["data"])


def _live(subscriptions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in subscriptions if s["status"] not in ("canceled", "incomplete_expired")]


def test_five_parallel_subscribes_make_one_subscription_and_cancel_ends_all(
    live_database: str, localstripe: str
) -> None:
    with support.threaded_server(live_database, STRIPE_API_BASE=localstripe) as server:
        member_id = _member(server, status="pending")
        browser, token = _browser(server, member_id)
        assert _post(browser, server.url + "/dues/start", token) == 302
        page = browser.get(server.url + "/dues/pay").text
        intent = _confirm_card(localstripe, page, GOOD_CARD).json()["id"]
        gate = threading.Barrier(5)

        def click(_: int) -> int:
            gate.wait()
            return _post(browser, server.url + "/dues/subscribe", token, setup_intent=intent)

        with ThreadPoolExecutor(5) as pool:
            codes = list(pool.map(click, range(5)))
        assert codes == [302] * 5  # the others are told to wait, never a 500
        with database(server.app).transaction() as s:
            account = s.scalars(select(DuesAccount)).one()
            customer = account.customer_id
            assert customer is not None
            assert s.get(Member, member_id).status == "active"  # type: ignore[union-attr]
            assert s.scalar(select(func.count()).select_from(LedgerTransaction)) == 1
        assert len(_live(_stripe(localstripe, "subscriptions", customer=customer))) == 1
        assert len(_stripe(localstripe, "charges", customer=customer)) == 1

        # A second subscription left by an older race: cancel must end it too.
        sdk = gateway(server.app)
        assert isinstance(sdk, StripeGateway)
        extra = sdk.client.v1.subscriptions.create(
            params={"customer": customer, "items": [{"plan": "softcoop-dues-usd-500"}]}
        )
        assert extra.status == "active"
        assert _post(browser, server.url + "/dues/cancel", token) == 302
        live = _live(_stripe(localstripe, "subscriptions", customer=customer))
        assert len(live) == 2 and all(s["cancel_at_period_end"] for s in live)


@contextmanager
def stalled_stripe() -> Iterator[str]:
    """A 'Stripe' that accepts connections and never answers (as when it hangs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def test_a_stalled_stripe_holds_no_lock_on_other_members(live_database: str) -> None:
    stall = 4
    with (
        stalled_stripe() as fake,
        support.threaded_server(
            live_database, STRIPE_API_BASE=fake, STRIPE_TIMEOUT_SECONDS=stall
        ) as server,
    ):
        payer, starter, voter = (_member(server, status="pending") for _ in range(3))
        with database(server.app).transaction() as s:
            s.add(DuesAccount(member_id=payer, customer_id="cus_stall", setup_intent_id="seti_x"))
        waiting = []
        for member_id, path, data in (
            (payer, "/dues/subscribe", {"setup_intent": "seti_x"}),
            (starter, "/dues/start", {}),
        ):
            browser, token = _browser(server, member_id)
            url = server.url + path
            thread = threading.Thread(target=_post, args=(browser, url, token), kwargs=data)
            thread.start()
            waiting.append(thread)
        time.sleep(1)  # both are now waiting on the stalled Stripe
        browser, token = _browser(server, voter)
        start = time.perf_counter()
        profile = {"email": "v@example.com", "display_name": "V"}
        code = _post(browser, server.url + "/profile", token, **profile)
        took = time.perf_counter() - start
        still_waiting = all(t.is_alive() for t in waiting)
        for thread in waiting:
            thread.join(stall * 4)
        assert code == 302
        assert took < 1.0, f"another member's write took {took:.2f} s behind a stalled Stripe"
        assert still_waiting, "the Stripe calls did not stall: the test proves nothing"
