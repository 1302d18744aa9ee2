"""Claiming through the API and through the page is one operation: one licence, one claim."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Claim, KeyStatus, LicenceKey
from market.members.sessions import open_session
from market.webdb import database
from tests import support
from tests.catalog.factories import make_product
from tests.market.factories import bearer, login_as, make_member, make_token

# One step: (channel, action, which product), channel "api" or "page".
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["api", "page"]), st.sampled_from(["claim", "release"]), st.integers(0, 1)
    ),  # fmt: skip
    min_size=1,
    max_size=8,
)


def _live(session: Session, member_id: int) -> dict[int, int]:
    """product id -> live claims of this member."""
    rows = session.execute(
        select(Claim.product_id, func.count())
        .where(Claim.member_id == member_id, Claim.released_at.is_(None))
        .group_by(Claim.product_id)
    ).all()
    return {pid: int(n) for pid, n in rows}


@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_api_and_page_claims_are_the_same_operation(
    app: Flask, session: Session, steps: list[tuple[str, str, int]]
) -> None:
    member = make_member(session)
    products = [make_product(session, keys=3), make_product(session, keys=3)]
    secret = make_token(session, member, "member")
    page = login_as(app.test_client(), member)
    api = app.test_client()
    held: dict[int, bool] = {}  # the model: does the member hold product i
    for channel, action, index in steps:
        product = products[index]
        live = session.scalar(
            select(Claim.id).where(
                Claim.member_id == member.id,
                Claim.product_id == product.id,
                Claim.released_at.is_(None),
            )
        )
        if action == "claim":
            if channel == "api":
                answer = api.post(
                    "/api/v1/me/claims", json={"product_id": product.id}, headers=bearer(secret)
                )
                ok, refused = answer.status_code == 201, answer.status_code == 409
            else:
                answer = page.post(f"/catalogue/{product.id}/claim")
                ok, refused = answer.status_code == 303, answer.status_code == 409
            # Either door: a second claim of a held product is refused the same way.
            assert (ok, refused) == ((False, True) if held.get(index) else (True, False))
            held[index] = True
        else:
            if live is None:
                continue
            if channel == "api":
                answer = api.delete(f"/api/v1/me/claims/{live}", headers=bearer(secret))
                assert answer.status_code == 200
            else:
                assert page.post(f"/licences/{live}/release").status_code == 303
            held[index] = False
        assert _live(session, member.id) == {products[i].id: 1 for i, h in held.items() if h}, steps
    # The keys: one per live claim, never one given twice.
    claimed = session.scalar(
        select(func.count()).where(
            LicenceKey.product_id.in_([p.id for p in products]),
            LicenceKey.status == KeyStatus.CLAIMED.value,
        )
    )
    assert claimed == sum(1 for h in held.values() if h)


def _cookie(app: Flask, member_id: int) -> str:
    with database(app).transaction() as s:
        login_id = open_session(s, member_id)
    serializer: Any = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return str(serializer.dumps({"_user_id": login_id, "_fresh": True}))


def test_concurrent_api_and_page_claims_make_one(live_database: str) -> None:
    """A member double-clicks on the page while a script claims through the API: one claim."""
    with support.threaded_server(live_database, WTF_CSRF_ENABLED=False) as server:
        with database(server.app).transaction() as s:
            member = make_member(s)
            product_id = make_product(s, keys=5).id
            secret = make_token(s, member, "member")
            member_id = member.id
        cookie = _cookie(server.app, member_id)

        def by_api(_: int) -> int:
            return requests.post(
                f"{server.url}/api/v1/me/claims",
                json={"product_id": product_id},
                headers=bearer(secret),
                timeout=60,
            ).status_code

        def by_page(_: int) -> int:
            return requests.post(
                f"{server.url}/catalogue/{product_id}/claim",
                cookies={"session": cookie},
                allow_redirects=False,
                timeout=60,
            ).status_code

        # Twelve at once, the two doors interleaved.
        with ThreadPoolExecutor(max_workers=12) as pool:
            futures = [pool.submit(by_api if i % 2 else by_page, i) for i in range(12)]
            codes = [f.result() for f in futures]
        with database(server.app).transaction() as s:
            live = _live(s, member_id)
            claimed = s.scalar(
                select(func.count()).where(
                    LicenceKey.product_id == product_id,
                    LicenceKey.status == KeyStatus.CLAIMED.value,
                )
            )
    won = [c for c in codes if c in (201, 303)]  # 201: the API's claim, 303: the page's
    assert len(won) == 1 and codes.count(409) == 11, codes
    assert live == {product_id: 1} and claimed == 1
