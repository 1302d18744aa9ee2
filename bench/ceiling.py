"""Benchmark-only endpoints (registered only when BENCH_ENDPOINTS=1): the throughput ceiling.

`POST /_bench/insert` goes through the same stack as a claim (session cookie, login,
CSRF, one request transaction) but does a single indexed insert into `bench_ping`, a table
that `python -m catalog.bench` creates in its throwaway database. Never enabled in the app.
"""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from market.auth import current_member
from market.db import get_session, utcnow

bp = Blueprint("bench", __name__, url_prefix="/_bench")


@bp.route("/insert", methods=["POST"])
def insert_one() -> ResponseReturnValue:
    get_session().execute(
        text("INSERT INTO bench_ping (member_id, created_at) VALUES (:m, :t)"),
        {"m": current_member().id, "t": utcnow()},
    )
    return redirect(url_for("licences.my_licences"), 303)
