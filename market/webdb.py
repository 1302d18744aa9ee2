"""The database's Flask glue: the app's Database and one session per request.

The session is committed once when the response is ready (rolled back when the response is
an error), so a view that renders a form error never leaves a partial write.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from market.db import Database, make_engine


def init_app(app: Flask) -> None:
    """Create the engine and wire the one-session-per-request lifecycle."""
    bind = app.config.get("DB_CONNECTION")
    engine = (
        bind.engine if isinstance(bind, Connection) else make_engine(app.config["DATABASE_URL"])
    )
    app.extensions["softcoop.db"] = Database(engine, bind)
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
        session = (db.reader if read_only else db.writer)()
        g._db_session = session
    return session


def _finish_request(response: Response) -> Response:
    session: Session | None = g.get("_db_session")
    if session is not None:
        if response.status_code < 400:
            session.commit()
        else:
            session.rollback()
    return response


def _close_session(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("_db_session", None)
    if session is not None:
        session.rollback()
        session.close()
