"""The database's Flask glue: the app's Database and one session per request.

The session is committed once when the response is ready (rolled back when the response is
an error), so a view that renders a form error never leaves a partial write.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g
from flask import session as cookie
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from market.db import Database, make_engine

F = TypeVar("F", bound=Callable[..., Any])
# When the member last wrote (in their signed session cookie): their next pages read the primary.
WROTE_AT = "_wrote_at"


def stale_ok(view: F) -> F:
    """Mark a public read-only page that may be served a moment stale, from a replica."""
    view.stale_ok = True  # type: ignore[attr-defined]
    return view


def init_app(app: Flask) -> None:
    """Create the engine and wire the one-session-per-request lifecycle."""
    bind = app.config.get("DB_CONNECTION")
    engine = (
        bind.engine if isinstance(bind, Connection) else make_engine(app.config["DATABASE_URL"])
    )
    app.extensions["softcoop.db"] = Database(engine, bind)
    replica_url = app.config.get("DATABASE_REPLICA_URL")
    if replica_url:
        # Fail over fast: a replica that does not answer within the timeout is skipped.
        connect_args = {"connect_timeout": 2} if replica_url.startswith("postgres") else {}
        replica = make_engine(replica_url, connect_args=connect_args)
        options = {"sqlite_begin": "DEFERRED", "postgresql_readonly": True}
        app.extensions["softcoop.replica"] = sessionmaker(
            bind=replica.execution_options(**options), expire_on_commit=False
        )
    app.after_request(_finish_request)
    app.teardown_appcontext(_close_session)


def database(app: Flask | None = None) -> Database:
    """The Database of the given (or current) app."""
    return (app or current_app).extensions["softcoop.db"]  # type: ignore[no-any-return]


def get_session() -> Session:
    """The session of this request (or app context), created on first use."""
    session: Session | None = g.get("_db_session")
    if session is None:
        from flask import has_request_context, request

        db = database()
        read_only = has_request_context() and request.method in {"GET", "HEAD", "OPTIONS"}
        session = _replica_session() if read_only else None
        session = session or (db.reader if read_only else db.writer)()
        g._db_session = session
    return session


def _replica_session() -> Session | None:
    """A session on the replica, for a stale-tolerant page not right after the member's write.

    None (read the primary) when there is no replica, the page needs fresh data, the member
    wrote within REPLICA_FRESH_SECONDS, or the replica does not answer.
    """
    from flask import request

    factory: sessionmaker[Session] | None = current_app.extensions.get("softcoop.replica")
    view = current_app.view_functions.get(request.endpoint or "")
    if factory is None or not getattr(view, "stale_ok", False):
        return None
    fresh_for = current_app.config.get("REPLICA_FRESH_SECONDS", 30)
    if time.time() - cookie.get(WROTE_AT, 0) < fresh_for:
        return None
    session = factory()
    try:
        session.connection()  # connect now, so a stopped replica falls back to the primary
    except DBAPIError:
        session.close()
        current_app.logger.warning("replica unreachable: reading the primary")
        return None
    g.db_replica = True
    return session


def _finish_request(response: Response) -> Response:
    session: Session | None = g.get("_db_session")
    if session is not None:
        if response.status_code < 400:
            session.commit()
            _remember_write()
        else:
            session.rollback()
    return response


def _remember_write() -> None:
    """After a member's successful write, their pages read the primary for a while."""
    from flask import request
    from flask_login import current_user

    if request.method in {"GET", "HEAD", "OPTIONS"} or not current_user.is_authenticated:
        return
    cookie[WROTE_AT] = int(time.time())


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("_db_session", None)
    if session is not None:
        session.rollback()
        session.close()
