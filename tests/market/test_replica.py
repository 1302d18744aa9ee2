"""Stale-tolerant public pages read a replica; writes, and a member's pages right after their
own write, read the primary; a replica that does not answer is skipped."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from flask import Flask
from sqlalchemy import text

from catalog.models import Product
from market import create_app
from market.members.models import Member
from market.webdb import database
from tests.catalog.factories import make_product
from tests.market.factories import login_as, make_member
from tests.support import app_config, free_port, fresh_database


def _primary_and_stale_copy(url: str, replica: Path) -> tuple[int, int]:
    """A product named "Stale name" in the copy and "Fresh name" in the primary."""
    app = create_app(app_config(DATABASE_URL=url))
    with database(app).transaction() as session:
        product = make_product(session, keys=3, name="Stale name")
        member = make_member(session)
        ids = product.id, member.id
    source = sqlite3.connect(url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(replica)) as copy:
        source.backup(copy)  # the replica, as of now
    source.close()
    with database(app).transaction() as session:
        session.get_one(Product, ids[0]).name = "Fresh name"
    database(app).engine.dispose()
    return ids


def _app(url: str, replica_url: str) -> Flask:
    return create_app(
        app_config(DATABASE_URL=url, DATABASE_REPLICA_URL=replica_url, WTF_CSRF_ENABLED=False)
    )


def test_public_pages_read_the_replica_until_the_member_writes(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        replica = tmp_path / "replica.db"
        product_id, member_id = _primary_and_stale_copy(url, replica)
        app = _app(url, f"sqlite:///{replica}")
        anonymous = app.test_client()
        assert "Stale name" in anonymous.get("/catalogue").get_data(as_text=True)
        assert "Stale name" in anonymous.get(f"/catalogue/{product_id}").get_data(as_text=True)

        with database(app).reader() as db:
            row = db.get_one(Member, member_id)
        member = login_as(app.test_client(), row)
        assert "Stale name" in member.get("/catalogue").get_data(as_text=True)
        assert member.post(f"/catalogue/{product_id}/claim").status_code == 303  # a write
        page = member.get("/catalogue").get_data(as_text=True)
        assert "Fresh name" in page and "Stale name" not in page  # their own write shows
        assert "Fresh name" in member.get("/licences").get_data(as_text=True)  # never stale
        assert "Stale name" in anonymous.get("/catalogue").get_data(as_text=True)
        with database(app).engine.connect() as conn:  # the claim went to the primary only
            assert conn.execute(text("SELECT count(*) FROM claim")).scalar() == 1


def test_a_replica_that_does_not_answer_falls_back_to_the_primary(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        product_id, _member_id = _primary_and_stale_copy(url, tmp_path / "unused.db")
        app = _app(url, f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")
        response = app.test_client().get(f"/catalogue/{product_id}")
        assert response.status_code == 200
        assert "Fresh name" in response.get_data(as_text=True)


def test_without_a_replica_everything_reads_the_primary(tmp_path: Path) -> None:
    with fresh_database("sqlite", tmp_path) as url:
        _primary_and_stale_copy(url, tmp_path / "unused.db")
        app = create_app(app_config(DATABASE_URL=url))
        assert "Fresh name" in app.test_client().get("/catalogue").get_data(as_text=True)
