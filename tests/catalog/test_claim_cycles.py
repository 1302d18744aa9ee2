"""Claim → release → claim gives the member the licence they had: stock is never drained."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.serving import signed_login
from catalog import claims
from catalog.models import Claim, LicenceKey, Product
from market.webdb import database
from tests.catalog.factories import make_product
from tests.catalog.test_claims import key_statuses, live_claims
from tests.market.factories import make_member
from tests.support import LiveServer

Login = Callable[..., FlaskClient]
CYCLES = 4


def _cycle(client: FlaskClient, session: Session, product: Product, times: int) -> set[str]:
    """Claim and release `times` times; every licence the member was shown."""
    shown: set[str] = set()
    for _ in range(times):
        assert client.post(f"/catalogue/{product.id}/claim").status_code == 303
        page = client.get("/licences").get_data(as_text=True)
        shown |= set(re.findall(r"(?:KEY-[\w-]+|/r/[\w-]+)", page))
        live = session.scalar(
            select(Claim.id).where(Claim.product_id == product.id, Claim.released_at.is_(None))
        )
        assert client.post(f"/licences/{live}/release").status_code == 303
    return shown


@pytest.mark.parametrize("reassignable", [False, True])
def test_key_cycles_show_one_key_and_burn_at_most_one(
    client: FlaskClient, session: Session, login: Login, reassignable: bool
) -> None:
    product = make_product(session, keys=4, reassignable=reassignable)
    login(make_member(session))
    assert len(_cycle(client, session, product, CYCLES)) == 1
    expected = {"available": 4} if reassignable else {"available": 3, "retired": 1}
    assert key_statuses(session, product) == expected
    # Everyone else can still claim what is left.
    for _ in range(3):
        claims.claim(session, make_member(session), product.id)


@pytest.mark.parametrize("reassignable", [False, True])
def test_seat_cycles_use_at_most_one_seat(
    client: FlaskClient, session: Session, login: Login, reassignable: bool
) -> None:
    product = make_product(session, kind="seat", seats_total=5, reassignable=reassignable)
    login(make_member(session))
    _cycle(client, session, product, CYCLES + 3)
    session.refresh(product)
    assert product.seats_used == (0 if reassignable else 1)
    for _ in range(4):
        claims.claim(session, make_member(session), product.id)
    assert live_claims(session, product) == 4


@pytest.mark.parametrize("reassignable", [False, True])
def test_link_cycles_hand_back_the_same_link(
    client: FlaskClient, session: Session, login: Login, reassignable: bool
) -> None:
    product = make_product(
        session,
        kind="link",
        reassignable=reassignable,
        redemption_url="https://ref.example.com/r/{token}",
    )
    login(make_member(session))
    assert len(_cycle(client, session, product, CYCLES)) == 1


def test_the_member_gets_their_own_burnt_key_back_even_after_others_claim(
    client: FlaskClient, session: Session, login: Login
) -> None:
    product = make_product(session, keys=3, reassignable=False)
    member = make_member(session)
    login(member)
    first = _cycle(client, session, product, 1)
    claims.claim(session, make_member(session), product.id)
    assert client.post(f"/catalogue/{product.id}/claim").status_code == 303
    page = client.get("/licences").get_data(as_text=True)
    assert first == set(re.findall(r"KEY-[\w-]+", page))
    assert key_statuses(session, product) == {"available": 1, "claimed": 2}


def test_a_reclaimed_member_who_pays_again_gets_the_same_licence(
    client: FlaskClient, session: Session, login: Login
) -> None:
    product = make_product(session, keys=2, reassignable=False)
    member = make_member(session)
    held = claims.claim(session, member, product.id)
    key_id = session.get(Claim, held).licence_key_id  # type: ignore[union-attr]
    member.status = "lapsed"
    session.flush()
    assert claims.reclaim(session) == 1
    member.status = "active"
    session.flush()
    login(member)
    assert client.post(f"/catalogue/{product.id}/claim").status_code == 303
    again = session.scalar(
        select(Claim.licence_key_id).where(
            Claim.member_id == member.id, Claim.released_at.is_(None)
        )
    )
    assert again == key_id
    assert session.get(LicenceKey, key_id).status == "claimed"  # type: ignore[union-attr]


def test_claiming_again_while_holding_is_still_refused(
    client: FlaskClient, session: Session, login: Login
) -> None:
    product = make_product(session, kind="seat", seats_total=3, reassignable=False)
    login(make_member(session))
    _cycle(client, session, product, 1)
    assert client.post(f"/catalogue/{product.id}/claim").status_code == 303
    again = client.post(f"/catalogue/{product.id}/claim")
    assert again.status_code == 409 and "already hold" in again.get_data(as_text=True)
    session.refresh(product)
    assert product.seats_used == 1 and live_claims(session, product) == 1


def test_admin_sees_stock_burnt_by_releases(
    client: FlaskClient, session: Session, login: Login
) -> None:
    keys = make_product(session, name="Burnt Keys", keys=3, reassignable=False)
    seats = make_product(
        session, name="Burnt Seats", kind="seat", seats_total=3, reassignable=False
    )
    for product in (keys, seats):
        for _ in range(2):
            member = make_member(session)
            claims.release(session, member, claims.claim(session, member, product.id))
    login(make_member(session, admin=True))
    page = client.get("/admin/catalog/").get_data(as_text=True)
    assert "Burnt by releases" in page
    for name in ("Burnt Keys", "Burnt Seats"):
        row = page.split(name)[1].split("</tr>")[0]
        assert re.findall(r'<td class="num">(\d+)</td>', row)[-1] == "2", name


def test_racing_tabs_of_one_member_take_their_burnt_licence_back_once(
    live_server: LiveServer,
) -> None:
    """After a release, 12 parallel claims of one member: one wins, the others hear
    "already hold", and no fresh key or seat is used."""
    app = live_server.app
    with database(app).transaction() as s:
        member = make_member(s)
        keys = make_product(s, keys=5, reassignable=False)
        seats = make_product(s, kind="seat", seats_total=5, reassignable=False)
        for product in (keys, seats):
            claims.release(s, member, claims.claim(s, member, product.id))
        ids = (member.id, keys.id, seats.id)
    cookie, token = signed_login(app, ids[0])
    barrier = threading.Barrier(12)

    def tab(product_id: int) -> int:
        barrier.wait()
        return requests.post(
            f"{live_server.url}/catalogue/{product_id}/claim",
            data={"csrf_token": token},
            cookies={"session": cookie},
            allow_redirects=False,
            timeout=60,
        ).status_code

    for product_id in ids[1:]:
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(tab, [product_id] * 12))
        assert sorted(statuses) == [303] + [409] * 11, statuses
    with database(app).transaction() as s:
        key_product = s.get(Product, ids[1])
        seat_product = s.get(Product, ids[2])
        assert key_product is not None and seat_product is not None
        assert key_statuses(s, key_product) == {"available": 4, "claimed": 1}
        assert seat_product.seats_used == 1
        assert live_claims(s) == 2
