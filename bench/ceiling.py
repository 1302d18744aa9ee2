"""The claims benchmark's ceiling: the app plus one bare endpoint, served by gunicorn.

`POST /_bench/insert` goes through the same stack as a claim (session cookie, login,
CSRF, one request transaction) but does a single indexed insert into `bench_ping`, a table
that `python -m bench.claims` creates in its throwaway database. It lives here, outside the
shipped packages: gunicorn serves `bench.ceiling:create_app()`, never the app itself.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import text

import market
from market.auth import current_member
from market.db import utcnow
from market.webdb import get_session

bp = Blueprint("bench", __name__, url_prefix="/_bench")
APP = "bench.ceiling:create_app()"


@bp.route("/insert", methods=["POST"])
def insert_one() -> ResponseReturnValue:
    get_session().execute(
        text("INSERT INTO bench_ping (member_id, created_at) VALUES (:m, :t)"),
        {"m": current_member().id, "t": utcnow()},
    )
    return redirect(url_for("licences.my_licences"), 303)


def create_app() -> Flask:
    """The app from the environment, with the ceiling's endpoint added."""
    app = market.create_app()
    app.register_blueprint(bp)
    return app
