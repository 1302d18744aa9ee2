"""The benchmarks' ceilings: the app plus two bare endpoints, served by gunicorn.

- `POST /_bench/insert` goes through the same stack as a claim (session cookie, login,
  CSRF, one request transaction) but does a single indexed insert into `bench_ping`, a table
  that `python -m bench.claims` creates in its throwaway database.
- `POST /_bench/webhook` goes through the same stack as Stripe's webhook (public, no CSRF, no
  rate limit, one request transaction), verifies the signature the same way and inserts one
  row into `bench_hook`, which `python -m bench.webhooks` creates.

They live here, outside the shipped packages: gunicorn serves `bench.ceiling:create_app()`,
never the app itself.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import text

import market
from market.auth import current_member, public
from market.billing import webhooks
from market.db import utcnow
from market.extensions import csrf, limiter
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


@bp.route("/webhook", methods=["POST"])
@public
@csrf.exempt
def bare_webhook() -> ResponseReturnValue:
    """Verify the signature as the real webhook does, then one insert: the floor it is held to."""
    try:
        event = webhooks.verify(
            request.get_data(cache=False),
            request.headers.get("Stripe-Signature"),
            current_app.config["STRIPE_WEBHOOK_SECRET"],
        )
    except webhooks.BadSignature:
        return jsonify(error="bad signature"), 400
    get_session().execute(
        text("INSERT INTO bench_hook (event_id, created_at) VALUES (:e, :t)"),
        {"e": event["id"], "t": utcnow()},
    )
    return jsonify(status="stored"), 200


@limiter.request_filter
def _bare_not_limited() -> bool:
    """Like the real webhook, the bare one skips the rate limiter."""
    return request.endpoint == "bench.bare_webhook"


def create_app() -> Flask:
    """The app from the environment, with the ceiling's endpoint added."""
    app = market.create_app()
    app.register_blueprint(bp)
    return app
