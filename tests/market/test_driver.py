"""OnDriver: the webhook's hot statements on the driver's cursor behave as Connection.execute."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from market.db import UTCDateTime, utcnow
from market.driver import OnDriver
from market.members.models import Member
from tests.market.factories import make_member
from tests.support import count_queries

_COLUMNS = select(Member.id, Member.email, Member.is_admin, Member.created_at, Member.grace_until)
BY_ID = OnDriver(_COLUMNS.where(Member.id == bindparam("member_id")))
JOINED_BEFORE = OnDriver(
    select(Member.id).where(Member.created_at < bindparam("moment", type_=UTCDateTime()))
)
ADD = OnDriver(
    insert(Member)
    .values(
        email=bindparam("email"),
        display_name="Twin",
        password_hash="-",
        is_admin=False,
        member_class="consumer",
        status="pending",
        created_at=bindparam("at", type_=UTCDateTime()),
        grace_until=None,
        email_member_text=False,
        email_verified_at=None,
        deleted_at=None,
    )
    .returning(Member.id)
)


def test_a_row_is_what_connection_execute_gives(session: Session, engine: Engine) -> None:
    member = make_member(session, status="active")
    session.flush()
    conn = session.connection()
    expected = dict(conn.execute(_COLUMNS.where(Member.id == member.id)).mappings().one())
    with count_queries(engine) as seen:
        got = BY_ID.row(conn, {"member_id": member.id})
    assert got == expected
    assert got is not None and got["created_at"].utcoffset() is not None  # aware, as the ORM's
    assert got["is_admin"] is False and got["grace_until"] is None
    assert len(seen) == 1, "the engine's statement listeners saw it"
    assert BY_ID.row(conn, {"member_id": member.id + 1000}) is None


def test_bad_parameters_are_refused_before_anything_is_sent(
    session: Session, engine: Engine
) -> None:
    conn = session.connection()
    with count_queries(engine) as seen:
        with pytest.raises(StatementError, match="naive datetime"):
            JOINED_BEFORE.row(conn, {"moment": datetime(2000, 1, 1)})  # noqa: DTZ001
        with pytest.raises(StatementError, match="moment"):
            JOINED_BEFORE.row(conn, {})
    assert seen == []
    assert JOINED_BEFORE.row(conn, {"moment": utcnow().replace(year=1990)}) is None


def test_a_database_error_is_sqlalchemys_and_the_transaction_goes_on(session: Session) -> None:
    member = make_member(session, status="active")
    session.flush()
    conn = session.connection()
    with pytest.raises(IntegrityError), session.begin_nested():
        ADD.row(session.connection(), {"email": member.email, "at": utcnow()})
    added = ADD.row(conn, {"email": "another-" + member.email, "at": utcnow()})
    assert added is not None
    assert session.get(Member, added["id"]) is not None


def test_what_only_an_execution_context_provides_is_refused(session: Session) -> None:
    conn = session.connection()
    defaults_left_out = OnDriver(insert(Member).values(email=bindparam("email")))
    expanding = OnDriver(select(Member.id).where(Member.id.in_(bindparam("ids", expanding=True))))
    for statement, params in ((defaults_left_out, {"email": "x"}), (expanding, {"ids": [1]})):
        if conn.dialect.name == "postgresql":
            with pytest.raises(ValueError, match="default|expanding"):
                statement.row(conn, params)
