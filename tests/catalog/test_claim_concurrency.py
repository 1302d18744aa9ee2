"""Claims under real concurrency: gunicorn workers racing on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from flask import Flask
from sqlalchemy import func, insert, select

from catalog.models import Claim, KeyStatus, LicenceKey
from market import create_app
from market.db import database
from market.members.models import Member
from tests.catalog.factories import add_keys, make_product
from tests.factories import _hash
from tests.support import app_config, gunicorn_server, signed_login


def _seed(database_url: str, members: int, keys: int) -> tuple[Flask, list[int], int]:
    """A fresh app on the live database with `members` active members and one key product."""
    app = create_app(app_config(DATABASE_URL=database_url))
    with database(app).transaction() as session:
        session.execute(
            insert(Member),
            [
                {
                    "email": f"racer{i}@example.com",
                    "display_name": f"Racer {i}",
                    "password_hash": _hash("not used"),
                    "status": "active",
                }
                for i in range(members)
            ],
        )
        product = make_product(session, keys=0, name="Hot product")
        add_keys(session, product, keys)
        ids = list(session.scalars(select(Member.id).order_by(Member.id)))
        product_id = product.id
    return app, ids, product_id


def _post(url: str, cookie: str, token: str) -> tuple[int, str]:
    response = requests.post(
        url,
        data={"csrf_token": token},
        cookies={"session": cookie},
        allow_redirects=False,
        timeout=60,
    )
    return response.status_code, response.text


def _claim_summary(app: object) -> tuple[int, int, int]:
    with database(app).transaction() as session:  # type: ignore[arg-type]
        live = session.scalar(
            select(func.count()).select_from(Claim).where(Claim.released_at.is_(None))
        )
        distinct_keys = session.scalar(select(func.count(func.distinct(Claim.licence_key_id))))
        claimed = session.scalar(
            select(func.count()).where(LicenceKey.status == KeyStatus.CLAIMED.value)
        )
    return int(live or 0), int(distinct_keys or 0), int(claimed or 0)


def _race(url: str, logins: list[tuple[str, str]], threads: int) -> list[tuple[int, str]]:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda cred: _post(url, *cred), logins))


def test_racing_claims_through_gunicorn(live_database: str) -> None:
    """One server (starting gunicorn is the slow part), two races.

    1. One member double-clicks: 20 parallel POSTs make exactly one claim.
    2. 1,000 members race for 100 keys: exactly 100 win, 900 hear "none are left",
       no key is given twice, no 500s.
    """
    app, member_ids, hot_id = _seed(live_database, members=1001, keys=100)
    with database(app).transaction() as session:
        calm_id = make_product(session, keys=50, name="Calm product").id
    clicker, racers = member_ids[0], member_ids[1:]
    with gunicorn_server(live_database, workers=4) as base:
        clicks = _race(f"{base}/catalogue/{calm_id}/claim", [signed_login(app, clicker)] * 20, 20)
        rush = _race(f"{base}/catalogue/{hot_id}/claim", [signed_login(app, m) for m in racers], 50)

    statuses = [status for status, _ in clicks]
    assert (statuses.count(303), statuses.count(409)) == (1, 19), sorted(set(statuses))
    assert all("already hold" in body for status, body in clicks if status == 409)

    statuses = [status for status, _ in rush]
    assert (statuses.count(303), statuses.count(409)) == (100, 900), sorted(set(statuses))
    assert all("none are left" in body for status, body in rush if status == 409)
    # Live claims, distinct keys held, keys marked claimed: 100 + the double-clicker's 1.
    assert _claim_summary(app) == (101, 101, 101)
    database(app).engine.dispose()  # type: ignore[arg-type]
